// Package method implements Rudder's generic methods natively: the idempotent check-and-fix
// primitives that techniques are made of (file_content, package_present, service_started, ...),
// with Rudder's ids, parameter names and parameter order, so that a technique written for Rudder
// runs unchanged. [Methods] lists them; [Run] runs one [Call] in an [Env] and returns a [Result].
//
// # Basics
//
// Every method checks first. In [Audit] it stops there and reports audit-compliant,
// audit-noncompliant, audit-error or audit-na. In [Enforce] it fixes what the check found,
// checks again, and reports success, repaired, error or not-applicable. The message says what
// was found and what was done. A result defines Rudder's result conditions,
// canonify(<class prefix>_<reporting value>) followed by _kept, _repaired, _error and the
// _ok, _not_ok, _reached, _not_kept, _not_repaired, _failed forms, plus promise_kept_,
// promise_repaired_ and repair_failed_ prefixed ones; the class prefix is the method's
// @class_prefix in Rudder (file_content's is file_lines_present). Not-applicable results define
// only <base>_noop, as Rudder's _classes_noop.
//
// Calls share an [Env]: variable_string and variable_dict define variables that later calls use
// as ${prefix.name} or ${prefix.name[key]} ([Env.Expand]); condition_from_* define conditions
// that later calls' conditions test.
//
// # Safety
//
//   - Audit never writes outside Env.DataDir: every write goes through helpers that refuse in
//     audit, whatever a method's body does; a test runs every file method in audit over a tree
//     and compares every file before and after.
//   - Every call has a timeout (Call.Timeout, else [DefaultTimeout]); a call that outlives it
//     is reported as an error and abandoned.
//   - Commands run without a shell, except where Rudder's contract is a shell command line:
//     command_execution, command_execution_result, audit_from_command and
//     condition_from_command run /bin/sh -c as Rudder does. Their output is bounded.
//   - A method that panics is an error for its call only.
//   - Actions (command_execution, command_execution_result, service_restart, service_reload,
//     HTTP requests other than GET and HEAD) are not run in audit and report audit-na.
//     audit_from_command and condition_from_command run in audit, as in Rudder: their commands
//     are promised to change nothing.
//
// # Platforms
//
// Files, permissions, commands, conditions, variables, HTTP checks and schedules work wherever
// the agent runs. Packages, services, accounts, sysctl, kernel modules and
// environment_variable need Linux (a package manager, systemd, the shadow tools, /proc,
// pam_env): on FreeBSD and macOS they report not-applicable, with a message that names the
// platform and what is missing (platform.go), never an error.
//
// # Caveats
//
// Regular expressions are Go's RE2, not PCRE: no look-around. ${HOME}-style references (no dot)
// and ${match.N} are not variables and pass through Expand unchanged.
//
// This package owns github.com/cbroglie/mustache (file_from_*_mustache); it imports
// agent/host for OS access and cond for condition expressions and canonified names, and
// nothing of the roles, wire, mesh or store. The agent role (agent/) is
// its user.
package method
