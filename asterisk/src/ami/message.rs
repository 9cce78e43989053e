//! AMI messages: ordered `Key: Value` fields, keys compared without case, as Asterisk does.

use std::fmt;

/// One message from Asterisk: a response, an event, or the lines of a command's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Fields in the order received; a key may repeat (`Variable:` in some events).
    pub fields: Vec<(String, String)>,
    /// Lines without a `Key: ` prefix, as `Response: Follows` command output has.
    pub output: Vec<String>,
}

impl Message {
    /// The first value of `key`, compared without case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `Event:` of an event.
    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }

    /// `Response:` of a response (`Success`, `Error`, `Failure`, `Follows`, `Goodbye`).
    pub fn response(&self) -> Option<&str> {
        self.get("Response")
    }

    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// `Response: Success` (or `Follows`, a successful command with output).
    pub fn is_success(&self) -> bool {
        matches!(self.response(), Some(r) if r.eq_ignore_ascii_case("Success") || r.eq_ignore_ascii_case("Follows"))
    }

    /// `EventList: start` on a response: events follow, then a `...Complete` event.
    pub fn starts_event_list(&self) -> bool {
        self.get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("start"))
    }

    /// `EventList: Complete` on the event that ends a list.
    pub fn completes_event_list(&self) -> bool {
        self.get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("Complete"))
    }
}

/// An action to send. The `ActionID` is set by whoever sends it (the client, to correlate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

impl Action {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            fields: Vec::new(),
        }
    }

    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// A channel variable for Originate: one `Variable: name=value` field each.
    pub fn variable(self, name: &str, value: &str) -> Self {
        self.field("Variable", format!("{name}={value}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {key:?} of action {action} contains a line break, which would end the message")]
pub struct ActionError {
    pub action: String,
    pub key: String,
}

impl Action {
    /// The bytes to send, with `action_id`.
    pub fn encode(&self, action_id: &str) -> Result<String, ActionError> {
        let mut out = String::with_capacity(64 + self.fields.len() * 32);
        for (key, value) in std::iter::once(("Action", self.name.as_str()))
            .chain(std::iter::once(("ActionID", action_id)))
            .chain(self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            if key.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
                return Err(ActionError {
                    action: self.name.clone(),
                    key: key.to_string(),
                });
            }
            out.push_str(key);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        Ok(out)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_fixtures_show() {
        let originate = Action::new("Originate")
            .field("Channel", "Local/s@callee-busy")
            .field("Context", "dialer-outbound")
            .field("Exten", "5551001")
            .field("Priority", "1")
            .field("Async", "true")
            .field("Timeout", "20000")
            .field("ChannelId", "busy-1");
        assert_eq!(
            originate.encode("busy-1").expect("encodes"),
            "Action: Originate\r\nActionID: busy-1\r\nChannel: Local/s@callee-busy\r\nContext: dialer-outbound\r\nExten: 5551001\r\nPriority: 1\r\nAsync: true\r\nTimeout: 20000\r\nChannelId: busy-1\r\n\r\n"
        );
        assert!(
            Action::new("Setvar")
                .field("Value", "a\r\nAction: Hangup")
                .encode("x")
                .is_err(),
            "no injected actions"
        );
        assert_eq!(
            Action::new("Originate")
                .variable("DIALTONE_LEAD_ID", "42")
                .fields,
            [("Variable".to_string(), "DIALTONE_LEAD_ID=42".to_string())]
        );
    }
}
