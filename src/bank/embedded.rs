//! The shipped question bank, built into the binary, so that `biwu` run from any folder has
//! a bank. It is written out once to a folder of the system's temporary directory named by
//! the content's hash, and loaded from there like any other bank.

use anyhow::Context;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(RustEmbed)]
#[folder = "question-bank/"]
struct Shipped;

/// Where the bank comes from: the folder in use, and how to say so at start-up.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub label: String,
    /// The built-in bank (a copy in the temporary directory: nothing is written to it).
    pub builtin: bool,
}

/// The bank to use: `--bank-dir` when given (it must exist), else `question-bank` in the
/// current folder when there is one, else the built-in bank.
pub fn resolve(given: Option<&Path>) -> anyhow::Result<Source> {
    if let Some(dir) = given {
        anyhow::ensure!(
            dir.is_dir(),
            "题库目录 {} 不存在（--bank-dir / BIWU_BANK_DIR）",
            dir.display()
        );
        return Ok(Source {
            dir: dir.to_path_buf(),
            label: format!("题库目录 {}", dir.display()),
            builtin: false,
        });
    }
    let here = Path::new("question-bank");
    if here.is_dir() {
        return Ok(Source {
            dir: here.to_path_buf(),
            label: "题库目录 question-bank".into(),
            builtin: false,
        });
    }
    Ok(Source {
        dir: extract()?,
        label: "内置题库（当前目录没有 question-bank，可用 --bank-dir 指定）".into(),
        builtin: true,
    })
}

/// Writes the built-in bank out (once per content) and returns its folder.
fn extract() -> anyhow::Result<PathBuf> {
    let mut names: Vec<_> = Shipped::iter().collect();
    names.sort();
    let mut hash = Sha256::new();
    for name in &names {
        hash.update(name.as_bytes());
        if let Some(f) = Shipped::get(name) {
            hash.update(f.data.as_ref());
        }
    }
    let dir =
        std::env::temp_dir().join(format!("biwu-bank-{}", &hex::encode(hash.finalize())[..16]));
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(dir);
    }
    for name in &names {
        let Some(f) = Shipped::get(name) else {
            continue;
        };
        let path = dir.join(name.as_ref());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("无法创建 {}", parent.display()))?;
        }
        std::fs::write(&path, f.data.as_ref())
            .with_context(|| format!("无法写入 {}", path.display()))?;
    }
    std::fs::write(&done, b"")?;
    Ok(dir)
}
