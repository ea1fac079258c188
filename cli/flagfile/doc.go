// Package flagfile reads YAML files whose keys are the long names of a command's flags: the
// daemons' /etc/bosun/<role>.yaml. Because the keys are the flags, every flag has a key, and
// the commented defaults and the reference, both written from the flags, cannot drift.
//
// # Basics
//
// [Keys] picks the flags of a flag set that a file may set. [Parse] (or [Read]) checks a file
// against them: each key must name a flag, each value must parse as the flag parses it on the
// command line, and every problem carries the file, line and key ([Error]). [File.Apply] then
// sets, on a command's parsed flag set, the flags the command line left alone. [Defaults]
// writes a commented file of every key with its default and help, [Reference] a Markdown
// table of the same.
//
// # Caveats
//
// Keys are flat (data, server-timeout); a slice flag takes a YAML sequence; durations are Go
// durations (5m, 1h30m). [File.Apply] skips keys the flag set does not have, so a verb that
// shares a role's file (bosun agent run and the agent's data directory) takes the keys it
// knows. Hidden flags are no keys: they are for tests.
//
// flagfile is the CLI's owner of go.yaml.in/yaml/v3 (root/policy is the other, for policy
// files); cli and cmd/bosun see only its types. It imports no bosun package.
package flagfile
