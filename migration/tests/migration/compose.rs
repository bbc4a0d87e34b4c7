//! Docker cannot run where this project is developed and tested, so the deployment files are
//! checked structurally: docker-compose.yml (TiDB v8.5 with a health check on its status
//! port, the verta service built from the Dockerfile and pointed at TiDB), the multi-stage
//! Dockerfile, and .env.example covering every configuration variable.

use crate::workspace_root;
use serde_norway::Value;

fn read(name: &str) -> String {
    let p = workspace_root().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn compose() -> Value {
    serde_norway::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is valid YAML")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

#[test]
fn compose_runs_tidb_8_5_with_a_health_check_on_the_status_port() {
    let c = compose();
    let tidb = &c["services"]["tidb"];
    let image = tidb["image"].as_str().expect("tidb image");
    assert!(image.starts_with("pingcap/tidb:v8.5."), "image {image}");
    let ports = strings(&tidb["ports"]);
    assert!(
        ports.iter().any(|p| p.ends_with(":4000")),
        "SQL port published: {ports:?}"
    );
    assert!(
        ports.iter().any(|p| p.ends_with(":10080")),
        "status port published: {ports:?}"
    );
    let test = strings(&tidb["healthcheck"]["test"]).join(" ");
    assert!(
        test.contains("10080/status"),
        "health check probes the status port: {test}"
    );
    assert!(tidb["healthcheck"]["interval"].as_str().is_some());
}

#[test]
fn compose_builds_verta_from_the_dockerfile_and_points_it_at_tidb() {
    let c = compose();
    let verta = &c["services"]["verta"];
    assert_eq!(verta["build"]["dockerfile"].as_str(), Some("Dockerfile"));
    assert_eq!(verta["build"]["context"].as_str(), Some("."));
    let env = &verta["environment"];
    let url = env["DATABASE_URL"].as_str().expect("DATABASE_URL set");
    assert!(
        url.starts_with("mysql://") && url.contains("@tidb:4000/"),
        "{url}"
    );
    assert_eq!(
        env["HOST"].as_str(),
        Some("0.0.0.0"),
        "listens beyond loopback"
    );
    let ports = strings(&verta["ports"]);
    assert!(ports.iter().any(|p| p == "25000:25000"), "{ports:?}");
    assert_eq!(
        verta["depends_on"]["tidb"]["condition"].as_str(),
        Some("service_healthy"),
        "verta waits for a healthy TiDB"
    );
    // The database the URL names is created before verta starts.
    let init = strings(&c["services"]["tidb-init"]["entrypoint"]).join(" ");
    assert!(
        init.contains("CREATE DATABASE IF NOT EXISTS verta"),
        "{init}"
    );
    assert_eq!(
        verta["depends_on"]["tidb-init"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
}

#[test]
fn dockerfile_is_multi_stage_and_runs_verta_serve() {
    let d = read("Dockerfile");
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].contains(" AS build"), "{froms:?}");
    assert!(
        d.contains("cargo build --release"),
        "builds in release mode"
    );
    assert!(
        d.contains("COPY --from=build"),
        "copies the binary out of the build stage"
    );
    assert!(d.contains("EXPOSE 25000"));
    assert!(d.contains("ENTRYPOINT [\"verta\"]") && d.contains("CMD [\"serve\"]"));
}

#[test]
fn env_example_lists_every_configuration_variable() {
    let e = read(".env.example");
    for var in [
        "DATABASE_URL",
        "HOST",
        "PORT",
        "ADMIN_API_KEY",
        "DISCORD_BOT_TOKEN",
        "DISCORD_API_PROXY",
        "SYNC_INTERVAL_SECS",
        "SYNC_CHANNEL_CONCURRENCY",
        "SYNC_REACTION_USERS",
        "SYNC_RESCAN_WINDOW_SECS",
        "ANONYMIZATION_SECRET",
        "LOG_FORMAT",
    ] {
        assert!(
            e.lines()
                .any(|l| l.trim_start_matches("# ").starts_with(&format!("{var}="))),
            "{var} missing from .env.example"
        );
    }
}
