//! The `biwu` command: serve, and the bank, roster and admin tools.

use anyhow::Context;
use biwu::bank::{self, sheet};
use biwu::config::Settings;
use biwu::records::Db;
use biwu::startup::{Application, InvalidBank};
use biwu::{accounts, demo, roster};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// jemalloc: a buffer's pages that were never written stay unmapped (an idle socket touches
/// one page of each of its two 8 KB buffers), and pages freed after a burst (a few thousand
/// handshakes) go back to the system within a second instead of staying in the heap.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol, a C `const char *`, before `main`.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: CStrPtr =
    CStrPtr(c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

#[repr(transparent)]
struct CStrPtr(*const std::ffi::c_char);
// SAFETY: it points at a string literal, which is immutable and lives for the whole program.
unsafe impl Sync for CStrPtr {}

#[derive(Parser)]
#[command(name = "biwu", version, about = "比武：业务比武、岗位练兵与小结点评")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve(Settings),
    /// The question bank: check, import, export.
    Bank {
        #[command(subcommand)]
        command: BankCommand,
    },
    /// The roster of members.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// Administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum BankCommand {
    /// Validate every question; print counts per topic and kind and every problem.
    Check {
        #[arg(default_value = "question-bank", env = "BIWU_BANK_DIR")]
        dir: PathBuf,
        /// Also print the item-writing figures per topic (true share, longest-is-right,
        /// multiple-choice patterns, absolute-word distractors, near-duplicate stems).
        #[arg(long)]
        stats: bool,
    },
    /// Import an .xlsx or .csv in the 题库 template into the bank as TOML.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "question-bank")]
        into: PathBuf,
        /// Import the good rows even when some rows are bad.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Export the bank as .xlsx or .csv in the 题库 template.
    Export {
        #[arg(long, default_value = "question-bank")]
        from: PathBuf,
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Xlsx,
    Csv,
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Import members from .xlsx/.csv with columns 姓名, 工号, 司室, 处室, 角色.
    Import {
        file: PathBuf,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/biwu.db")]
        database_url: String,
        /// Apply the good rows even when some rows are bad.
        #[arg(long)]
        skip_invalid: bool,
        /// Deactivate active members (not admins) missing from the file; without it they
        /// are kept and listed.
        #[arg(long)]
        deactivate_missing: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator; prints a one-time password.
    Create {
        #[arg(long)]
        staff_no: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/biwu.db")]
        database_url: String,
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("BIWU_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or_else(|| {
        // `biwu` alone serves, reading options from the environment.
        Command::Serve(Settings::parse_from_env())
    });
    match run(command).await {
        Ok(code) => code,
        Err(e) => {
            if let Some(InvalidBank(problems)) = e.downcast_ref::<InvalidBank>() {
                for p in problems {
                    eprintln!("{p}");
                }
                eprintln!(
                    "题库有 {} 处问题，服务未启动。请先运行 biwu bank check 修正。",
                    problems.len()
                );
            } else {
                eprintln!("错误：{e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

trait FromEnv {
    fn parse_from_env() -> Self;
}

impl FromEnv for Settings {
    fn parse_from_env() -> Settings {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        Only::parse_from(["biwu"]).settings
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(settings) => serve(settings).await,
        Command::Bank { command } => bank_command(command),
        Command::Roster {
            command:
                RosterCommand::Import {
                    file,
                    database_url,
                    skip_invalid,
                    deactivate_missing,
                },
        } => roster_import(&file, &database_url, skip_invalid, deactivate_missing).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    staff_no,
                    name,
                    database_url,
                },
        } => {
            let db = Db::connect(&database_url).await?;
            let password = accounts::create_admin(&db, &staff_no, &name).await?;
            println!("已创建管理员 {staff_no}（{name}）");
            println!("一次性密码：{password}");
            println!("首次登录后须修改密码。此密码只显示这一次。");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings.clone()).await?;
    let port = app.port();
    let host = settings
        .bind
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(|c| c == '[' || c == ']'))
        .unwrap_or("127.0.0.1");
    let everywhere = host == "0.0.0.0" || host == "::";
    let local = if everywhere { "127.0.0.1" } else { host };
    let base = format!("http://{local}:{port}");
    let s = &app.sync;
    println!("比武 biwu 已启动");
    println!(
        "  数据库 {}，排行榜 {}，题目 {} 道（新增 {}，更新 {}，停用 {}）",
        app.state.db.backend.name(),
        app.state.board.name(),
        s.added + s.updated + s.unchanged,
        s.added,
        s.updated,
        s.retired
    );
    if let Some(reason) = app.state.board.unavailable() {
        println!(
            "  注意：Redis 暂不可用（{reason}）。服务照常运行，排行榜由记录计算；Redis 恢复后自动重建。"
        );
    }
    println!("  {}", app.bank.label);
    println!("  首页     {base}/");
    println!("  登录     {base}/login");
    println!("  健康检查 {base}/healthz");
    // Where phones can reach us.
    let lan: Vec<String> = if everywhere {
        if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !i.is_loopback() && i.ip().is_ipv4())
            .map(|i| format!("http://{}:{port}/", i.ip()))
            .collect()
    } else {
        Vec::new()
    };
    match &settings.public_url {
        Some(url) => {
            println!("  手机访问 {url}/（--public-url，二维码和加入链接都用它）");
            if biwu::config::is_loopback(url) {
                println!("注意：公开地址 {url} 是本机地址，手机无法打开。");
            }
        }
        None if !lan.is_empty() => {
            for url in &lan {
                println!("  手机访问 {url}（局域网）");
            }
            println!(
                "  建议用 --public-url 固定二维码中的地址，例如 --public-url {}",
                lan[0].trim_end_matches('/')
            );
        }
        None => {}
    }
    if !everywhere && biwu::config::is_loopback(host) {
        println!();
        println!("注意：服务只监听本机地址 {host}，手机和其他电脑无法访问。");
        println!(
            "      比赛时请使用 --bind 0.0.0.0:{port}，并用 --public-url 设置手机可访问的地址。"
        );
    }
    if let Some((staff_no, password)) = &app.bootstrap_admin {
        println!();
        println!("首次启动：已创建管理员账号");
        println!("  工号 {staff_no}  一次性密码 {password}");
        println!("  此密码只显示这一次，登录后须修改。");
    }
    if settings.demo {
        println!();
        println!(
            "演示数据（虚构单位）：所有演示账号的密码均为 {}",
            demo::DEMO_PASSWORD
        );
        for (role, staff_no, name) in demo::logins() {
            println!("  {:<6} 工号 {staff_no:<11} {name}", role.name_zh());
        }
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

fn bank_command(command: BankCommand) -> anyhow::Result<ExitCode> {
    match command {
        BankCommand::Check { dir, stats } => {
            let bank = bank::load(&dir);
            print!("{}", bank.summary());
            // Item-writing warnings never fail the check: the rules are for review.
            let quality = bank::quality::review(&bank, &dir);
            if stats {
                print!("{}", quality.stats_text());
            }
            for w in &quality.warnings {
                println!("{w}");
            }
            if !quality.warnings.is_empty() {
                println!(
                    "命题提示 {} 条（不影响使用，请在审题时处理）",
                    quality.warnings.len()
                );
            }
            for p in &bank.problems {
                println!("{p}");
            }
            if bank.is_valid() {
                println!("题库检查通过：{}", dir.display());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("题库有 {} 处问题", bank.problems.len());
                Ok(ExitCode::FAILURE)
            }
        }
        BankCommand::Export {
            from,
            format,
            output,
        } => {
            let bank = bank::load(&from);
            if !bank.is_valid() {
                for p in &bank.problems {
                    eprintln!("{p}");
                }
                anyhow::bail!("题库有 {} 处问题，未导出", bank.problems.len());
            }
            let output = match format {
                Format::Xlsx => output.with_extension("xlsx"),
                Format::Csv => output.with_extension("csv"),
            };
            let questions: Vec<_> = bank.questions().cloned().collect();
            sheet::export(&output, &questions)?;
            println!("已导出 {} 道题目到 {}", questions.len(), output.display());
            Ok(ExitCode::SUCCESS)
        }
        BankCommand::Import {
            file,
            into,
            skip_invalid,
        } => bank_import(&file, &into, skip_invalid),
    }
}

fn bank_import(file: &Path, into: &Path, skip_invalid: bool) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(into).with_context(|| format!("无法创建 {}", into.display()))?;
    let existing = bank::load(into);
    if !existing.is_valid() {
        for p in &existing.problems {
            eprintln!("{p}");
        }
        anyhow::bail!("目标题库 {} 本身有问题，请先修正", into.display());
    }
    let vocabulary = bank::Vocabulary::for_dir(into).map_err(anyhow::Error::msg)?;
    let current: Vec<_> = existing.questions().cloned().collect();
    let import = sheet::import(file, &vocabulary, &current)?;
    for e in &import.errors {
        println!("{}：{e}", file.display());
    }
    if !import.errors.is_empty() && !skip_invalid {
        println!(
            "{} 行有问题，未导入任何题目（可修正后重试，或加 --skip-invalid 只导入正确的行）",
            import
                .errors
                .iter()
                .map(|e| e.row)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        );
        return Ok(ExitCode::FAILURE);
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("import")
        .to_string();
    let written: Vec<String> = sheet::write_into(into, &stem, &import.questions)?
        .into_iter()
        .map(|(path, n)| format!("{}（{n} 道）", path.display()))
        .collect();
    println!("已导入 {} 道题目：", import.questions.len());
    for w in written {
        println!("  {w}");
    }
    if !import.errors.is_empty() {
        println!("跳过了有问题的行（见上）");
    }
    Ok(ExitCode::SUCCESS)
}

async fn roster_import(
    file: &Path,
    database_url: &str,
    skip_invalid: bool,
    deactivate_missing: bool,
) -> anyhow::Result<ExitCode> {
    let (entries, errors) = roster::parse(file)?;
    for e in &errors {
        println!("{}：{e}", file.display());
    }
    if !errors.is_empty() && !skip_invalid {
        println!("名册有问题，未导入任何成员（修正后重试，或加 --skip-invalid）");
        return Ok(ExitCode::FAILURE);
    }
    if entries.is_empty() {
        println!("名册为空：没有可导入的行，未导入任何成员");
        return Ok(ExitCode::FAILURE);
    }
    let db = Db::connect(database_url).await?;
    // The bad rows were reported above and are skipped.
    let plan = roster::plan(&db, entries, Vec::new(), None).await?;
    let out = roster::apply(&db, &plan, None, deactivate_missing).await?;
    println!(
        "名册导入完成：新增 {}，更新 {}，停用 {}",
        out.added, out.updated, out.deactivated
    );
    println!(
        "其中：改名 {}，调整处室 {}，角色变化 {}，恢复 {}",
        out.renamed, out.moved, out.roles, out.reactivated
    );
    if out.kept > 0 {
        println!(
            "不在名册中（保留）：{} 人（加 --deactivate-missing 可停用）",
            out.kept
        );
        for m in &plan.missing {
            println!("  {}\t{}\t{}", m.staff_no, m.name, m.from);
        }
    }
    if !out.passwords.is_empty() {
        println!("新成员的一次性密码（只显示这一次，首次登录后须修改）：");
        println!("工号\t姓名\t一次性密码");
        for (no, name, pw) in &out.passwords {
            println!("{no}\t{name}\t{pw}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
