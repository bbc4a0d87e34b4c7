//! The deployment files, checked structurally so that the tests need no Docker:
//! docker-compose.yml (TiDB v8.5 with a health check on its status port, the verta service
//! built from the Dockerfile, pointed at TiDB and passed every configuration variable), the
//! multi-stage Dockerfile, and .env.example and the README covering every configuration
//! variable. "Every variable" is `service::config::VARIABLES`, the list the configuration
//! itself is checked against: a variable added there and not documented fails here.

use crate::workspace_root;
use serde_norway::Value;
use service::config::VARIABLES;

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
fn compose_passes_every_configuration_variable_to_verta() {
    let c = compose();
    let env = &c["services"]["verta"]["environment"];
    assert!(
        env.is_mapping(),
        "verta's environment is a mapping: {env:?}"
    );
    for var in VARIABLES {
        assert!(
            env.get(var).is_some(),
            "{var} missing from docker-compose.yml (services.verta.environment)"
        );
    }
}

#[test]
fn env_example_lists_every_configuration_variable() {
    let e = read(".env.example");
    for var in VARIABLES {
        assert!(
            e.lines()
                .any(|l| l.trim_start_matches("# ").starts_with(&format!("{var}="))),
            "{var} missing from .env.example"
        );
    }
}

#[test]
fn readme_documents_every_configuration_variable() {
    let readme = read("README.md");
    // A row of the Configuration table names the variable.
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with('|')).collect();
    for var in VARIABLES {
        assert!(
            rows.iter().any(|row| row
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == *var)),
            "{var} missing from the README's configuration table"
        );
    }
}
