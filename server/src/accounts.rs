//! `leads-dashboard user …` and `token …`: the command-line side of the
//! `Auth` service.

use std::io::BufRead;

use app::ssr::auth::{Auth, AuthError, ChosenBy, Role};

use crate::cli::{TokenCommand, UserCommand};

fn text(e: AuthError) -> String {
    e.to_string()
}

/// `2026-11-28 04:10 UTC`, or `never`.
fn when(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or("never".into(), |d| {
            d.format("%Y-%m-%d %H:%M UTC").to_string()
        })
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| {
        format!("cannot read the password (use --password-stdin without a terminal): {e}")
    })?;
    let again = rpassword::prompt_password("Password again: ")
        .map_err(|e| format!("cannot read the password: {e}"))?;
    if first != again {
        return Err("the passwords differ".into());
    }
    Ok(first)
}

pub async fn user(auth: &Auth, command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = Role::parse(&role).ok_or("--role is admin or viewer")?;
            let password = read_password(password_stdin)?;
            auth.add_user(&name, role, &password, ChosenBy::Operator)
                .await
                .map_err(text)?;
            println!(
                "created user {} ({})",
                name.trim().to_lowercase(),
                role.as_str()
            );
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            auth.set_password(&name, &password, ChosenBy::Operator)
                .await
                .map_err(text)?;
            println!(
                "password set for {}; their sessions ended",
                name.trim().to_lowercase()
            );
        }
        UserCommand::List => {
            for u in auth.users().await.map_err(text)? {
                println!(
                    "{}\t{}\tcreated {}",
                    u.name,
                    u.role.as_str(),
                    when(Some(u.created))
                );
            }
        }
        UserCommand::Remove { name } => {
            auth.remove_user(&name).await.map_err(text)?;
            println!("removed user {}", name.trim().to_lowercase());
        }
    }
    Ok(())
}

pub async fn token(auth: &Auth, command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create { name } => {
            let token = auth.create_token(&name).await.map_err(text)?;
            eprintln!(
                "API token {}: shown once, store it now (only its hash is kept)",
                name.trim().to_lowercase()
            );
            println!("{token}");
        }
        TokenCommand::List => {
            for t in auth.tokens().await.map_err(text)? {
                println!(
                    "{}\tcreated {}\tlast used {}",
                    t.name,
                    when(Some(t.created)),
                    when(t.last_used)
                );
            }
        }
        TokenCommand::Revoke { name } => {
            auth.revoke_token(&name).await.map_err(text)?;
            println!("revoked token {}", name.trim().to_lowercase());
        }
    }
    Ok(())
}
