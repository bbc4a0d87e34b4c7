//! `verta tenant create|list`: the same service functions as the HTTP API, JSON on stdout.

use std::process::ExitCode;

use service::Config;
use service::tenants::{self, CreateTenant};

use super::{CliError, TenantCommand, open_database, print_json};

/// Runs one `verta tenant ...` command: `create` prints the new tenant (with `id` and
/// `slug`), `list` prints every tenant as a JSON array (newest first).
pub async fn run(command: TenantCommand, config: Config) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    match command {
        TenantCommand::Create {
            name,
            slug,
            platform,
            platform_id,
        } => {
            let input = CreateTenant {
                name: Some(name),
                slug,
                platform: Some(platform),
                platform_id: Some(platform_id),
                status: None,
            };
            let tenant = tenants::create(&db, &input).await?;
            // A new Discord tenant gets its first (full) sync queued.
            service::sync::service::on_tenant_created(&db, &tenant).await;
            print_json(&tenant)?;
        }
        TenantCommand::List => {
            let all = tenants::all(&db).await?;
            print_json(&all)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
