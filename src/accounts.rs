//! Creating accounts: the first admin, admins from the command line, password resets.

use crate::auth::{hash_password, one_time_password};
use crate::domain::Role;
use crate::records::members::{self, NewMember};
use crate::records::{Db, audit};

/// Staff number of the admin created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// When no active admin exists, creates one and returns its staff number and one-time
/// password, to be printed once. Returns `None` otherwise.
pub async fn ensure_admin(db: &Db) -> anyhow::Result<Option<(String, String)>> {
    if members::count_active_admins(db).await? > 0 {
        return Ok(None);
    }
    let password = one_time_password();
    let hash = hash_password(&password)?;
    if let Some(existing) = members::by_staff_no(db, BOOTSTRAP_ADMIN).await? {
        // The bootstrap account exists but lost its role or was deactivated: restore it.
        sqlx::query("UPDATE members SET role = 'admin', active = 1 WHERE id = $1")
            .bind(&existing.id)
            .execute(&db.pool)
            .await?;
        members::set_password(db, &existing.id, &hash, true).await?;
    } else {
        let mut conn = db.pool.acquire().await?;
        members::insert(
            &mut conn,
            NewMember {
                staff_no: BOOTSTRAP_ADMIN,
                name: "系统管理员",
                section_id: None,
                role: Role::Admin,
                password_hash: Some(&hash),
                must_change_password: true,
            },
        )
        .await?;
    }
    audit::record(
        db,
        None,
        "admin.bootstrap",
        BOOTSTRAP_ADMIN,
        serde_json::json!({}),
    )
    .await?;
    Ok(Some((BOOTSTRAP_ADMIN.to_string(), password)))
}

/// `biwu admin create`: a new admin with a one-time password (returned).
pub async fn create_admin(db: &Db, staff_no: &str, name: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        valid_staff_no(staff_no),
        "工号「{staff_no}」只能包含字母、数字、- 和 _"
    );
    anyhow::ensure!(!name.trim().is_empty(), "姓名不能为空");
    if members::by_staff_no(db, staff_no).await?.is_some() {
        anyhow::bail!("工号 {staff_no} 已存在");
    }
    let password = one_time_password();
    let hash = hash_password(&password)?;
    let mut conn = db.pool.acquire().await?;
    members::insert(
        &mut conn,
        NewMember {
            staff_no,
            name: name.trim(),
            section_id: None,
            role: Role::Admin,
            password_hash: Some(&hash),
            must_change_password: true,
        },
    )
    .await?;
    audit::record(
        db,
        None,
        "admin.create",
        staff_no,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(password)
}

/// Gives a member a new one-time password (returned); they must change it on login.
pub async fn reset_password(db: &Db, actor_id: &str, member_id: &str) -> anyhow::Result<String> {
    let password = one_time_password();
    members::set_password(db, member_id, &hash_password(&password)?, true).await?;
    // Whoever held the old password is logged out everywhere.
    members::delete_sessions(db, member_id).await?;
    audit::record(
        db,
        Some(actor_id),
        "member.password_reset",
        member_id,
        serde_json::json!({}),
    )
    .await?;
    Ok(password)
}

pub fn valid_staff_no(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
