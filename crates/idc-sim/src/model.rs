//! The simulator held to AWS's own service models: every API request is checked against the
//! botocore model of its service (`botocore/data/{sso-oidc,sso,sts,ecr,iam}/<version>/service-2.json`,
//! read where botocore is installed, never copied here) before it is served, and every answer
//! against the operation's output shape before it leaves.
//!
//! A request the model says is malformed gets the service's own validation error (as AWS would
//! answer it); an answer the model does not allow is the simulator's own bug: it is answered
//! with a 500 naming the problem and recorded in [`Stats::model_violations`].
//!
//! What is checked: the operation (HTTP method and request URI for REST-JSON, `X-Amz-Target`
//! and the JSON 1.1 content type, `Action` and `Version` for the query protocol); where each
//! member goes (header, query string, URI label, body) and that no other parameter is sent;
//! required members; member types (string with its length bounds and enum values, integer and
//! long with their range, boolean, timestamp, blob, structure, list, map); and the answer's
//! members and their types against the output shape.
//!
//! [`Stats::model_violations`]: crate::Stats::model_violations

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The services the simulator serves, by botocore name, and the path prefix each is served at.
pub const SERVICES: [(&str, &str); 5] = [
    ("sso-oidc", "/oidc"),
    ("sso", "/portal"),
    ("sts", "/sts"),
    ("ecr", "/ecr"),
    ("iam", "/iam"),
];

/// Where botocore's models are: `IDC_SIM_MODELS` (a `botocore/data` folder), else the
/// workspace's `.venv` that `scripts/test` makes (so every test run of this repository finds
/// them without being told).
pub fn find_models_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("IDC_SIM_MODELS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/botocore/data"))
        .filter(|p| p.is_dir())
        .collect();
    pythons.sort();
    pythons.pop()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    RestJson,
    Json,
    Query,
}

#[derive(Debug)]
struct Operation {
    name: String,
    method: String,
    /// The request URI's path, split on `/` (`{label}` segments match any value).
    path: Vec<String>,
    input: Option<String>,
    output: Option<String>,
}

/// One service's model.
#[derive(Debug)]
pub struct ServiceModel {
    pub name: String,
    pub protocol: Protocol,
    api_version: String,
    target_prefix: Option<String>,
    operations: Vec<Operation>,
    shapes: serde_json::Map<String, Value>,
}

/// A request as the check sees it: the path below the service's prefix, the query string's
/// pairs, headers (names in lower case) and the body.
#[derive(Debug)]
pub struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub body: &'a [u8],
}

impl ServiceModel {
    pub fn load(data_dir: &Path, service: &str) -> Result<Self, String> {
        let dir = data_dir.join(service);
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        versions.sort();
        let version = versions
            .pop()
            .ok_or_else(|| format!("{}: no model version", dir.display()))?;
        let plain = version.join("service-2.json");
        let text = if plain.is_file() {
            std::fs::read_to_string(&plain).map_err(|e| format!("{}: {e}", plain.display()))?
        } else {
            let gz = version.join("service-2.json.gz");
            let file = std::fs::File::open(&gz).map_err(|e| format!("{}: {e}", gz.display()))?;
            let mut text = String::new();
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut text)
                .map_err(|e| format!("{}: {e}", gz.display()))?;
            text
        };
        Self::parse(service, &text)
    }

    pub fn parse(service: &str, text: &str) -> Result<Self, String> {
        let model: Value =
            serde_json::from_str(text).map_err(|e| format!("{service} model: {e}"))?;
        let meta = &model["metadata"];
        let protocol = match meta["protocol"].as_str() {
            Some("rest-json") => Protocol::RestJson,
            Some("json") => Protocol::Json,
            Some("query") => Protocol::Query,
            other => {
                return Err(format!(
                    "{service}: protocol {other:?} is not one the simulator speaks"
                ));
            }
        };
        let operations = model["operations"]
            .as_object()
            .ok_or_else(|| format!("{service}: no operations"))?
            .iter()
            .map(|(name, op)| {
                let uri = op["http"]["requestUri"].as_str().unwrap_or("/");
                let path = uri.split('?').next().unwrap_or("/");
                Operation {
                    name: name.clone(),
                    method: op["http"]["method"].as_str().unwrap_or("POST").to_owned(),
                    path: segments(path),
                    input: op["input"]["shape"].as_str().map(str::to_owned),
                    output: op["output"]["shape"].as_str().map(str::to_owned),
                }
            })
            .collect();
        Ok(Self {
            name: service.to_owned(),
            protocol,
            api_version: meta["apiVersion"].as_str().unwrap_or_default().to_owned(),
            target_prefix: meta["targetPrefix"].as_str().map(str::to_owned),
            operations,
            shapes: model["shapes"].as_object().cloned().unwrap_or_default(),
        })
    }

    /// The operation `req` is, checked against its input shape: its name, or what is wrong.
    pub fn check_request(&self, req: &Seen<'_>) -> Result<String, String> {
        match self.protocol {
            Protocol::RestJson => self.check_rest_json(req),
            Protocol::Json => self.check_json(req),
            Protocol::Query => self.check_query(req),
        }
    }

    fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }

    fn shape(&self, name: &str) -> &Value {
        self.shapes.get(name).unwrap_or(&Value::Null)
    }

    fn check_rest_json(&self, req: &Seen<'_>) -> Result<String, String> {
        let path = segments(req.path);
        let op = self
            .operations
            .iter()
            .find(|o| {
                o.method.eq_ignore_ascii_case(req.method)
                    && o.path.len() == path.len()
                    && o.path
                        .iter()
                        .zip(&path)
                        .all(|(want, got)| want.starts_with('{') || want == got)
            })
            .ok_or_else(|| format!("no {} operation is {} {}", self.name, req.method, req.path))?;
        let Some(input) = &op.input else {
            return Ok(op.name.clone());
        };
        let shape = self.shape(input);
        let required = required(shape);
        let mut body_members = serde_json::Map::new();
        let mut allowed_query = Vec::new();
        let body: Option<Value> = if req.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice(req.body)
                    .map_err(|e| format!("{}: the body is not JSON: {e}", op.name))?,
            )
        };
        for (member, spec) in members(shape) {
            let target = spec["shape"].as_str().unwrap_or_default();
            let wire = spec["locationName"].as_str().unwrap_or(member);
            let value = match spec["location"].as_str() {
                Some("header") => req.headers.get(&wire.to_ascii_lowercase()).cloned(),
                Some("querystring") => {
                    allowed_query.push(wire.to_owned());
                    req.query
                        .iter()
                        .find(|(k, _)| k == wire)
                        .map(|(_, v)| v.clone())
                }
                Some("uri") => {
                    let at = op.path.iter().position(|s| s == &format!("{{{wire}}}"));
                    at.and_then(|i| path.get(i)).cloned()
                }
                _ => {
                    body_members.insert(member.to_owned(), spec.clone());
                    continue;
                }
            };
            match value {
                Some(v) => self
                    .check_text(target, &v)
                    .map_err(|e| format!("{}: {wire}: {e}", op.name))?,
                None if required.contains(&member) => {
                    return Err(format!("{}: the required {wire} is missing", op.name));
                }
                None => {}
            }
        }
        for (k, _) in &req.query {
            if !allowed_query.contains(k) {
                return Err(format!(
                    "{}: the model has no query parameter {k:?}",
                    op.name
                ));
            }
        }
        let object = match &body {
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(format!("{}: the body is not a JSON object", op.name)),
            None => serde_json::Map::new(),
        };
        if !body_members.is_empty() || !object.is_empty() {
            self.check_object(&object, &body_members, &required, &op.name)?;
        }
        Ok(op.name.clone())
    }

    fn check_json(&self, req: &Seen<'_>) -> Result<String, String> {
        let target = req
            .headers
            .get("x-amz-target")
            .ok_or("the X-Amz-Target header is missing")?;
        let (prefix, name) = target
            .split_once('.')
            .ok_or_else(|| format!("X-Amz-Target {target:?} is not <prefix>.<operation>"))?;
        if Some(prefix) != self.target_prefix.as_deref() {
            return Err(format!("X-Amz-Target {target:?} is not {}'s", self.name));
        }
        let op = self
            .operation(name)
            .ok_or_else(|| format!("{} has no operation {name}", self.name))?;
        let content_type = req.headers.get("content-type").map_or("", String::as_str);
        if content_type != "application/x-amz-json-1.1" {
            return Err(format!(
                "{name}: content type {content_type:?}, not application/x-amz-json-1.1"
            ));
        }
        let body: Value = if req.body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(req.body)
                .map_err(|e| format!("{name}: the body is not JSON: {e}"))?
        };
        if let Some(input) = &op.input {
            let shape = self.shape(input);
            let Value::Object(object) = &body else {
                return Err(format!("{name}: the body is not a JSON object"));
            };
            self.check_object(
                object,
                &members(shape)
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect(),
                &required(shape),
                name,
            )?;
        }
        Ok(op.name.clone())
    }

    fn check_query(&self, req: &Seen<'_>) -> Result<String, String> {
        let mut params: Vec<(String, String)> = req.query.clone();
        if req.method.eq_ignore_ascii_case("POST") {
            params.extend(form_urlencoded::parse(req.body).into_owned());
        }
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let action = get("Action").ok_or("the Action parameter is missing")?;
        let op = self
            .operation(action)
            .ok_or_else(|| format!("{} has no action {action}", self.name))?;
        match get("Version") {
            Some(v) if v == self.api_version => {}
            other => {
                return Err(format!(
                    "{action}: Version {other:?}, the model's is {:?}",
                    self.api_version
                ));
            }
        }
        let empty = Value::Null;
        let shape = op.input.as_deref().map_or(&empty, |s| self.shape(s));
        let known: BTreeMap<&str, &Value> = members(shape).collect();
        for (name, value) in &params {
            if name == "Action" || name == "Version" || name.starts_with("X-Amz-") {
                continue;
            }
            let top = name.split('.').next().unwrap_or(name);
            let spec = known
                .get(top)
                .ok_or_else(|| format!("{action}: the model has no parameter {top:?}"))?;
            if !name.contains('.') {
                self.check_text(spec["shape"].as_str().unwrap_or_default(), value)
                    .map_err(|e| format!("{action}: {name}: {e}"))?;
            }
        }
        for member in required(shape) {
            let present = params
                .iter()
                .any(|(n, _)| n == member || n.starts_with(&format!("{member}.")));
            if !present {
                return Err(format!("{action}: the required {member} is missing"));
            }
        }
        Ok(op.name.clone())
    }

    /// `object` against `members` (name to member spec) of an input or output.
    fn check_object(
        &self,
        object: &serde_json::Map<String, Value>,
        members: &serde_json::Map<String, Value>,
        required: &[&str],
        place: &str,
    ) -> Result<(), String> {
        for (key, value) in object {
            let spec = members
                .iter()
                .find(|(m, spec)| spec["locationName"].as_str().unwrap_or(m) == key)
                .map(|(_, spec)| spec)
                .ok_or_else(|| format!("{place}: the model has no member {key:?}"))?;
            self.check_value(spec["shape"].as_str().unwrap_or_default(), value)
                .map_err(|e| format!("{place}.{key}: {e}"))?;
        }
        for member in required {
            let Some(spec) = members.get(*member) else {
                continue;
            };
            let wire = spec["locationName"].as_str().unwrap_or(member);
            if object.get(wire).is_none_or(Value::is_null) {
                return Err(format!("{place}: the required {wire} is missing"));
            }
        }
        Ok(())
    }

    /// A JSON value against the shape named `name`.
    fn check_value(&self, name: &str, value: &Value) -> Result<(), String> {
        let shape = self.shape(name);
        let kind = shape["type"].as_str().unwrap_or_default();
        match (kind, value) {
            ("string", Value::String(s)) => self.check_string(shape, s),
            ("integer" | "long", Value::Number(n)) => {
                let n = n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?;
                check_range(shape, n)
            }
            ("boolean", Value::Bool(_)) => Ok(()),
            ("timestamp", Value::Number(_) | Value::String(_)) => Ok(()),
            ("blob", Value::String(_)) => Ok(()),
            ("float" | "double", Value::Number(_)) => Ok(()),
            ("structure", Value::Object(o)) => self.check_object(
                o,
                &members(shape)
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect(),
                &required(shape),
                name,
            ),
            ("list", Value::Array(items)) => {
                let member = shape["member"]["shape"].as_str().unwrap_or_default();
                items.iter().try_for_each(|v| self.check_value(member, v))
            }
            ("map", Value::Object(o)) => {
                let v = shape["value"]["shape"].as_str().unwrap_or_default();
                o.values().try_for_each(|x| self.check_value(v, x))
            }
            (_, Value::Null) => Ok(()),
            _ => Err(format!("{value} is not a {kind} ({name})")),
        }
    }

    /// A value sent as text (header, query string, URI, query-protocol parameter).
    fn check_text(&self, name: &str, text: &str) -> Result<(), String> {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or_default() {
            "string" => self.check_string(shape, text),
            "integer" | "long" => {
                let n: i64 = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not an integer"))?;
                check_range(shape, n)
            }
            "boolean" if text == "true" || text == "false" => Ok(()),
            "boolean" => Err(format!("{text:?} is not a boolean")),
            _ => Ok(()),
        }
    }

    fn check_string(&self, shape: &Value, s: &str) -> Result<(), String> {
        let len = s.chars().count() as i64;
        if let Some(min) = shape["min"].as_i64()
            && len < min
        {
            return Err(format!("{len} characters, at least {min} expected"));
        }
        if let Some(max) = shape["max"].as_i64()
            && len > max
        {
            return Err(format!("{len} characters, at most {max} expected"));
        }
        if let Some(values) = shape["enum"].as_array()
            && !values.iter().any(|v| v.as_str() == Some(s))
        {
            return Err(format!("{s:?} is not one of {values:?}"));
        }
        Ok(())
    }

    /// An answer (status 200) of `operation` against its output shape: JSON for REST-JSON and
    /// JSON 1.1, the query protocol's XML for STS.
    pub fn check_answer(&self, operation: &str, body: &[u8]) -> Result<(), String> {
        let op = self
            .operation(operation)
            .ok_or_else(|| format!("{} has no operation {operation}", self.name))?;
        let Some(output) = &op.output else {
            return Ok(());
        };
        let shape = self.shape(output);
        match self.protocol {
            Protocol::RestJson | Protocol::Json => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|e| format!("{operation}: the answer is not JSON: {e}"))?;
                let Value::Object(object) = value else {
                    return Err(format!("{operation}: the answer is not a JSON object"));
                };
                let body_members: serde_json::Map<String, Value> = members(shape)
                    .filter(|(_, spec)| spec["location"].is_null())
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect();
                self.check_object(&object, &body_members, &required(shape), operation)
            }
            Protocol::Query => self.check_query_answer(operation, shape, body),
        }
    }

    fn check_query_answer(
        &self,
        operation: &str,
        shape: &Value,
        body: &[u8],
    ) -> Result<(), String> {
        let text = std::str::from_utf8(body).map_err(|e| format!("{operation}: {e}"))?;
        let mut doc = aws_smithy_xml::decode::Document::new(text);
        let mut root = doc
            .root_element()
            .map_err(|e| format!("{operation}: the answer is not XML: {e}"))?;
        let want = format!("{operation}Response");
        if root.start_el().local() != want {
            return Err(format!(
                "{operation}: the answer's root is <{}>, not <{want}>",
                root.start_el().local()
            ));
        }
        let mut saw_result = false;
        while let Some(mut tag) = root.next_tag() {
            let name = tag.start_el().local().to_owned();
            if name == format!("{operation}Result") {
                saw_result = true;
                self.check_xml_structure(&mut tag, shape, operation)?;
            } else if name != "ResponseMetadata" {
                return Err(format!(
                    "{operation}: <{name}> is not in the answer's model"
                ));
            }
        }
        if !saw_result {
            return Err(format!(
                "{operation}: the answer has no <{operation}Result>"
            ));
        }
        Ok(())
    }

    fn check_xml_structure(
        &self,
        el: &mut aws_smithy_xml::decode::ScopedDecoder<'_, '_>,
        shape: &Value,
        place: &str,
    ) -> Result<(), String> {
        let known: BTreeMap<&str, &Value> = members(shape).collect();
        let mut seen = Vec::new();
        while let Some(mut tag) = el.next_tag() {
            let name = tag.start_el().local().to_owned();
            let spec = known
                .get(name.as_str())
                .ok_or_else(|| format!("{place}: <{name}> is not in the model"))?;
            let target = spec["shape"].as_str().unwrap_or_default();
            let member_shape = self.shape(target);
            match member_shape["type"].as_str().unwrap_or_default() {
                "structure" => {
                    self.check_xml_structure(&mut tag, member_shape, &format!("{place}.{name}"))?;
                }
                "list" => {
                    let item =
                        self.shape(member_shape["member"]["shape"].as_str().unwrap_or_default());
                    while let Some(mut member) = tag.next_tag() {
                        if member.start_el().local() != "member" {
                            return Err(format!("{place}.{name}: a list holds <member>s"));
                        }
                        if item["type"] == "structure" {
                            self.check_xml_structure(
                                &mut member,
                                item,
                                &format!("{place}.{name}"),
                            )?;
                        }
                    }
                }
                "timestamp" => {
                    let t = aws_smithy_xml::decode::try_data(&mut tag)
                        .map_err(|e| format!("{place}.{name}: {e}"))?;
                    time::OffsetDateTime::parse(
                        t.trim(),
                        &time::format_description::well_known::Rfc3339,
                    )
                    .map_err(|e| format!("{place}.{name}: {t:?} is not an ISO 8601 time: {e}"))?;
                }
                _ => {
                    let t = aws_smithy_xml::decode::try_data(&mut tag)
                        .map_err(|e| format!("{place}.{name}: {e}"))?;
                    self.check_text(target, &t)
                        .map_err(|e| format!("{place}.{name}: {e}"))?;
                }
            }
            seen.push(name);
        }
        for member in required(shape) {
            if !seen.iter().any(|s| s == member) {
                return Err(format!("{place}: the required <{member}> is missing"));
            }
        }
        Ok(())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn members(shape: &Value) -> impl Iterator<Item = (&str, &Value)> {
    shape["members"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
}

fn required(shape: &Value) -> Vec<&str> {
    shape["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn check_range(shape: &Value, n: i64) -> Result<(), String> {
    if let Some(min) = shape["min"].as_i64()
        && n < min
    {
        return Err(format!("{n} is below the minimum {min}"));
    }
    if let Some(max) = shape["max"].as_i64()
        && n > max
    {
        return Err(format!("{n} is above the maximum {max}"));
    }
    Ok(())
}

/// The five services' models.
#[derive(Debug)]
pub struct Models {
    services: Vec<(&'static str, ServiceModel)>,
    pub dir: PathBuf,
}

impl Models {
    /// The models in `dir`, read once per process.
    pub fn cached(dir: &Path) -> Result<std::sync::Arc<Self>, String> {
        static READ: std::sync::Mutex<BTreeMap<PathBuf, std::sync::Arc<Models>>> =
            std::sync::Mutex::new(BTreeMap::new());
        let mut read = READ
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = read.get(dir) {
            return Ok(m.clone());
        }
        let models = std::sync::Arc::new(Self::load(dir)?);
        read.insert(dir.to_owned(), models.clone());
        Ok(models)
    }

    pub fn load(dir: &Path) -> Result<Self, String> {
        let services = SERVICES
            .iter()
            .map(|(name, prefix)| Ok((*prefix, ServiceModel::load(dir, name)?)))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            services,
            dir: dir.to_owned(),
        })
    }

    /// The model serving `path` and the path below its prefix.
    pub fn for_path<'p>(&self, path: &'p str) -> Option<(&ServiceModel, &'p str)> {
        self.services.iter().find_map(|(prefix, model)| {
            let rest = path.strip_prefix(prefix)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((model, rest))
        })
    }
}
