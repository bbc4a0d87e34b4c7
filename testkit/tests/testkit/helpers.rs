//! Shared test helpers: a started fake with an HTTP client, schema validators.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use testkit::fake_discord::{ChannelKind, ChannelMeta, FakeConfig, FakeDiscord, Guild, Message};

/// A running fake plus a plain HTTP client.
pub struct Harness {
    pub fake: FakeDiscord,
    pub http: reqwest::Client,
}

/// A response: status, headers, JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Harness {
    pub fn new(config: FakeConfig) -> Harness {
        Harness {
            fake: FakeDiscord::start(config).expect("start fake discord"),
            http: reqwest::Client::new(),
        }
    }

    pub fn small() -> Harness {
        Harness::new(FakeConfig::small())
    }

    pub fn guild(&self) -> &Guild {
        &self.fake.guilds()[0]
    }

    /// GET `/api/v10{path}` with the bot token.
    pub async fn get(&self, path: &str) -> Resp {
        let auth = format!("Bot {}", self.fake.token());
        self.get_with(path, Some(&auth)).await
    }

    /// GET `/api/v10{path}` with the given Authorization header.
    pub async fn get_with(&self, path: &str, auth: Option<&str>) -> Resp {
        let mut req = self.http.get(format!("{}{}", self.fake.api_url(), path));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A control-API request.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/_control{}", self.fake.base_url(), path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.json().await.unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// The first channel of a kind.
pub fn first_of(g: &Guild, kind: ChannelKind) -> &ChannelMeta {
    g.initial_channels()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} channel"))
}

/// The channel with the most message slots.
pub fn biggest(g: &Guild) -> &ChannelMeta {
    g.initial_channels()
        .max_by_key(|c| c.message_count)
        .expect("a channel")
}

/// Brute force: every generated message of a channel, slot by slot (no paging, no
/// binary search), ascending.
pub fn brute_force(g: &Guild, ch: &ChannelMeta) -> Vec<Message> {
    (0..ch.message_count)
        .filter_map(|i| g.generated_message(ch, i))
        .collect()
}

/// The ids in a JSON array of objects.
pub fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|m| m["id"].as_str().expect("id").parse().expect("snowflake"))
        .collect()
}

fn subset() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = include_str!("data/discord-openapi-subset.json");
        serde_json::from_str(text).expect("openapi subset")
    })
}

fn validator(section: &str, name: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let key = format!("{section}/{name}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("cache").get(&key) {
        return v.clone();
    }
    let v = Arc::new(compile(section, name));
    cache.lock().expect("cache").insert(key, v.clone());
    v
}

fn compile(section: &str, name: &str) -> jsonschema::Validator {
    let doc = subset();
    let mut root = doc[section][name].clone();
    assert!(root.is_object(), "no schema for {section}/{name}");
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root).expect("compile schema")
}

/// Asserts `body` is valid against the 200 response schema of `route` (a route template
/// from `testkit::fake_discord::routes`).
pub fn assert_route_schema(route: &str, body: &Value) {
    assert_valid(&validator("routes", route), route, body);
}

/// Asserts `body` is valid against `ErrorResponse` or `RatelimitedResponse`.
///
/// Discord's field errors (`errors.<field>._errors[].code`) are strings such as
/// `"NUMBER_TYPE_MAX"` on the real API, while the OpenAPI description types them as
/// integers; the `errors` tree is therefore checked by [`assert_field_errors`] instead.
pub fn assert_error_schema(name: &str, body: &Value) {
    let mut top = body.clone();
    if let Some(errors) = top.as_object_mut().and_then(|o| o.remove("errors")) {
        assert_field_errors(&errors);
    }
    assert_valid(&validator("errors", name), name, &top);
}

/// Asserts a Discord field-error tree: objects down to `{"_errors": [{code, message}]}`
/// leaves with string codes.
pub fn assert_field_errors(v: &Value) {
    let obj = v.as_object().expect("errors is an object");
    assert!(!obj.is_empty());
    for (k, child) in obj {
        if k == "_errors" {
            for e in child.as_array().expect("_errors is an array") {
                assert!(e["code"].is_string(), "{e}");
                assert!(e["message"].is_string(), "{e}");
            }
        } else {
            assert_field_errors(child);
        }
    }
}

fn assert_valid(v: &jsonschema::Validator, what: &str, body: &Value) {
    let errors: Vec<String> = v
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: response does not match Discord's schema: {errors:#?}"
    );
}
