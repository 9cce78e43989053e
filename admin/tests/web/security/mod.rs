//! The security suite: one test per finding of the attack on the release build (issue 16),
//! each failing on the code before its fix. A reader finds them here by their names.
//! - [`asterisk_values`]: no value typed by anyone reaches Asterisk unless its kind allows it.
//! - [`revoked_access`]: access taken away ends at once, sockets and dialer sessions too.
//! - [`open_network`]: a stranger, or a signed-in user, facing the web listener.

mod asterisk_values;
mod open_network;
mod revoked_access;
