use std::io::BufRead;

use anyhow::Context;
use clap::Subcommand;
use dialtone_admin::server::session;
use dialtone_core::config::Config;
use dialtone_core::users;
use dialtone_core::vocabulary::Role;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a password is generated and printed once.
    Add {
        username: String,
        #[arg(long)]
        role: Role,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (the user must change it at next sign-in unless --keep).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        /// Do not force a change at next sign-in.
        #[arg(long)]
        keep: bool,
    },
    /// Block an account and end its sessions.
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    List,
    /// Issue an API token for the account, printed once (only its hash is kept), as the
    /// Users page does: scripts and first integrations need one before anyone signs in.
    /// The token alone goes to standard output.
    Token {
        username: String,
        /// What the token is for, shown on the Users page.
        #[arg(long)]
        name: String,
    },
}

fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((users::generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    match command {
        UserCommand::Add {
            username,
            role,
            name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let id = users::create(&pool, &username, &name, role, &password).await?;
            println!("created {} '{username}' (id {id})", role.as_str());
            if generated {
                println!("password: {password}  (to be changed at first sign-in)");
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            keep,
        } => {
            let (password, generated) = password(password_stdin)?;
            users::set_password(&pool, &username, &password, !keep).await?;
            println!("password of '{username}' changed");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Disable { username } => {
            users::set_active(&pool, &username, false).await?;
            println!("'{username}' disabled; their sessions are ended");
        }
        UserCommand::Enable { username } => {
            users::set_active(&pool, &username, true).await?;
            println!("'{username}' enabled");
        }
        UserCommand::List => {
            println!(
                "{:<6} {:<24} {:<11} {:<7} name",
                "id", "username", "role", "active"
            );
            for u in users::list(&pool).await? {
                println!(
                    "{:<6} {:<24} {:<11} {:<7} {}",
                    u.id, u.username, u.role, u.active, u.display_name
                );
            }
        }
        UserCommand::Token { username, name } => {
            // The page's rule for a token's name.
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                anyhow::bail!("--name must be 1 to 80 characters");
            }
            let user = users::list(&pool)
                .await?
                .into_iter()
                .find(|u| u.username == username)
                .with_context(|| format!("no user '{username}'"))?;
            let token = session::issue_api_token(&pool, user.id, name)
                .await
                .context("storing the token")?;
            // The token alone on standard output, so that `TOKEN=$(dialtone user token …)` works.
            eprintln!("API token '{name}' for '{username}' (shown once; send it as 'Authorization: Bearer …'):");
            println!("{token}");
            if !user.active {
                eprintln!("note: '{username}' is disabled; the token works once they are enabled");
            }
        }
    }
    Ok(())
}
