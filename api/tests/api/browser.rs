//! A real headless browser for the integration tests: Debian's chromium driven through its
//! chromedriver (WebDriver, with `fantoccini`), and axe-core injected for accessibility checks.
//!
//! ```ignore
//! let browser = Browser::launch().await;
//! browser.open(&app.url("/")).await;
//! assert_eq!(browser.console_errors().await, Vec::<String>::new());
//! assert!(browser.axe().await.iter().all(|v| !v.is_serious()));
//! browser.screenshot(Path::new("docs/screenshots/home-phone.png"), 390, 844).await;
//! browser.close().await;
//! ```
//!
//! The tools are the ones `scripts/browser-tools.sh` installs (`scripts/test.sh` runs it):
//! `VERTA_CHROMIUM`, `VERTA_CHROMEDRIVER` and `VERTA_AXE_JS`, or where that script puts them
//! when the variables are not set (`chromium` and `chromedriver` on `PATH`, axe-core in
//! `${XDG_CACHE_HOME:-$HOME/.cache}/verta-test-tools`). A missing tool fails the test with a
//! message saying to run the script: browser tests are never skipped.
//!
//! One chromedriver serves the whole test binary while any [`Browser`] is alive (tests that run
//! in parallel share it); it listens on a free loopback port and is shut down when the last
//! browser is dropped. Each [`Browser`] is a WebDriver session of its own: its own chromium
//! with a fresh profile. Every helper panics with a message on failure: these are test
//! helpers, and a failing browser step is a failing test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub use fantoccini::key::Key;

/// What to run to get the tools (in every failure message about them).
const INSTALL_HINT: &str = "run `bash scripts/browser-tools.sh` (scripts/test.sh runs it) to \
     install chromium, chromedriver and axe-core";

/// Viewports narrower than this are emulated as a phone (`mobile: true`: `<meta
/// name="viewport">` applies, as on a real phone).
const PHONE_MAX_WIDTH: u32 = 600;

/// Chromium's flags: headless, no sandbox (tests may run as root in a container), no GPU, and
/// none of its own traffic to Google's servers, so that every request a page makes is the
/// page's. Scrollbars are hidden and colours fixed so screenshots do not depend on the host.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--lang=en-US",
];

/// The paths of the browser test tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// The chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary (the same version as chromium: both from Debian).
    pub chromedriver: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe_js: PathBuf,
}

impl Tools {
    /// The tools of this machine (see the module docs); panics with [`INSTALL_HINT`] when one
    /// is missing.
    pub fn get() -> &'static Tools {
        static TOOLS: OnceLock<Tools> = OnceLock::new();
        TOOLS.get_or_init(|| {
            Self::resolve(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
                .unwrap_or_else(|why| panic!("{why}"))
        })
    }

    /// The tools named by the environment `var` reads, or their default places; `Err` names
    /// each missing tool and says how to install it.
    pub fn resolve(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Tools, String> {
        let on_path = |name: &str| {
            var("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(name))
                    .find(|candidate| candidate.is_file())
            })
        };
        let cache = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")));
        let default_axe =
            cache.map(|dir| dir.join("verta-test-tools/node_modules/axe-core/axe.min.js"));
        let mut missing = Vec::new();
        let mut find = |variable: &str, default: Option<PathBuf>, what: &str| {
            let path = var(variable).map(PathBuf::from).or(default);
            match path {
                Some(path) if path.is_file() => path,
                Some(path) => {
                    missing.push(format!(
                        "{what} not found at {} ({variable})",
                        path.display()
                    ));
                    path
                }
                None => {
                    missing.push(format!("{what} not found ({variable} unset)"));
                    PathBuf::new()
                }
            }
        };
        let tools = Tools {
            chromium: find("VERTA_CHROMIUM", on_path("chromium"), "chromium"),
            chromedriver: find(
                "VERTA_CHROMEDRIVER",
                on_path("chromedriver"),
                "chromedriver",
            ),
            axe_js: find("VERTA_AXE_JS", default_axe, "axe-core's axe.min.js"),
        };
        if missing.is_empty() {
            Ok(tools)
        } else {
            Err(format!(
                "the browser tests cannot run: {}; {INSTALL_HINT}",
                missing.join("; ")
            ))
        }
    }

    /// The source of axe.min.js, read once.
    fn axe_source(&self) -> &'static str {
        static SOURCE: OnceLock<String> = OnceLock::new();
        SOURCE.get_or_init(|| {
            std::fs::read_to_string(&self.axe_js).unwrap_or_else(|e| {
                panic!("cannot read {}: {e}; {INSTALL_HINT}", self.axe_js.display())
            })
        })
    }
}

/// A running chromedriver; shut down (its browsers with it) when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// The chromedriver of this test binary: the running one, or a new one.
    fn shared(tools: &Tools) -> Arc<Driver> {
        static SHARED: Mutex<Weak<Driver>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(driver) = shared.upgrade() {
            return driver;
        }
        let driver = Arc::new(Driver::start(&tools.chromedriver));
        *shared = Arc::downgrade(&driver);
        driver
    }

    /// Starts chromedriver on a free loopback port and waits until it accepts connections.
    fn start(binary: &Path) -> Driver {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|e| panic!("no free port for chromedriver: {e}"));
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", binary.display()));
        let mut driver = Driver { child, port };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}); {INSTALL_HINT}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // `/shutdown` makes chromedriver quit its browsers too; a plain kill could leave a
        // chromium of an unclosed session behind.
        if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) {
            use std::io::Write;
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = write!(
                stream,
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            );
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver command fantoccini has no method for: `POST /session/{id}/{path}` with a JSON
/// body (chromedriver's log and DevTools endpoints).
#[derive(Debug)]
struct SessionPost {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// One axe-core rule a page violates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxeViolation {
    /// The rule (`image-alt`, `color-contrast`, ...).
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// The CSS selectors of the offending elements.
    pub targets: Vec<String>,
}

impl AxeViolation {
    /// Whether the impact is `serious` or `critical` (what the site must never have).
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

/// A headless chromium session (see the module docs). Close it with [`Browser::close`]; a
/// browser only dropped (a failed test) is closed with its chromedriver.
pub struct Browser {
    client: Client,
    _driver: Arc<Driver>,
}

impl Browser {
    /// A new browser (a new chromium), with the browser console's log kept for
    /// [`Browser::console_errors`].
    pub async fn launch() -> Browser {
        let tools = Tools::get();
        let driver = Driver::shared(tools);
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": tools.chromium, "args": CHROMIUM_ARGS }),
        );
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("cannot start a chromium session: {e}; {INSTALL_HINT}"));
        Browser {
            client,
            _driver: driver,
        }
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for its `load` event.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The browser console's SEVERE entries (console.error, uncaught exceptions, failed
    /// loads) logged since the previous call (chromedriver hands each entry out once).
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(SessionPost {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .unwrap_or_else(|e| panic!("cannot read the browser log: {e}"));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// axe-core's violations on the current page (all rules axe runs by default: WCAG 2.x A
    /// and AA and best practices), each with its impact.
    pub async fn axe(&self) -> Vec<AxeViolation> {
        let has_axe = self.eval("return typeof window.axe === 'object'").await;
        if has_axe != Value::Bool(true) {
            self.client
                .execute(Tools::get().axe_source(), Vec::new())
                .await
                .unwrap_or_else(|e| panic!("cannot inject axe-core: {e}"));
        }
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
                .then(results => done({ violations: results.violations.map(v => ({
                    id: v.id,
                    impact: v.impact || "",
                    help: v.help,
                    targets: v.nodes.map(n => n.target.join(" ")),
                })) }))
                .catch(e => done({ error: String(e) }));
        "#;
        let result = self
            .client
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("axe.run failed: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe.run failed: {error}");
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        result["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe.run gave no violations list: {result}"))
            .iter()
            .map(|v| AxeViolation {
                id: text(&v["id"]),
                impact: text(&v["impact"]),
                help: text(&v["help"]),
                targets: v["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect(),
            })
            .collect()
    }

    /// Sets the viewport to exactly `width` x `height` CSS pixels at a device pixel ratio of
    /// 1; below 600 px wide the page is shown as on a phone (`<meta name="viewport">`
    /// applies). Lasts for the session, across navigations.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < PHONE_MAX_WIDTH,
            }),
        )
        .await;
    }

    /// A PNG of the viewport at `width` x `height` (see [`Browser::set_viewport`]; a phone is
    /// 390 x 844), written to `path` (parent directories are created).
    pub async fn screenshot(&self, path: &Path, width: u32, height: u32) {
        self.set_viewport(width, height).await;
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("cannot take a screenshot: {e}"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Runs `js` as the body of a function in the page (use `return` for a value) and
    /// returns its result as JSON.
    pub async fn eval(&self, js: &str) -> Value {
        self.client
            .execute(js, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{js}"))
    }

    /// Clicks the first element matching the CSS selector `css`, as a user would (at its
    /// centre; it must be visible).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matches {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Presses and releases one key on the focused element (`Key::Tab`, `Key::Enter`,
    /// `' '`, ...).
    pub async fn press_key(&self, key: impl Into<char>) {
        let key = key.into();
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("cannot press {key:?}: {e}"));
    }

    /// Runs a Chrome DevTools Protocol command (`Emulation.setEmulatedMedia`, ...) and returns
    /// its result.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(SessionPost {
                path: "goog/cdp/execute",
                body: json!({ "cmd": command, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools command {command} failed: {e}"))
    }

    /// Ends the session and its chromium.
    pub async fn close(self) {
        self.client
            .close()
            .await
            .unwrap_or_else(|e| panic!("cannot close the browser: {e}"));
    }
}
