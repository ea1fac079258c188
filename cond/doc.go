// Package cond is the condition language of techniques: the class expressions of Rudder and
// CFEngine that decide whether a method call runs. A condition names conditions that are
// defined or not on the agent (facts such as `debian` or `linux`, and the result conditions of
// earlier method calls such as `file_etc_motd_repaired`) and combines them with `.` or `&`
// (and), `|` (or), `!` (not) and parentheses. `any` and `true` are always defined; `false` is
// never defined.
//
// # Basics
//
// [Parse] turns an expression into an [Expr] or an error that gives the byte offset of the
// fault; [Expr.Eval] evaluates it against the set of defined conditions the caller knows;
// [Expr.Names] lists the conditions it depends on; [Canonify] turns any string into a
// condition name the way Rudder does, which is how method result conditions are named.
//
// Names may contain `${...}` variable references (`${my_prefix}_repaired`, or
// `${sys.${host}}`). The root parses such expressions only to validate them; an agent expands
// the variables before parsing, because a variable may hold a whole expression.
//
// # Caveats
//
// cond does no I/O and imports no other bosun package: root/policy uses it to validate
// techniques, the agent to evaluate them. Precedence is Rudder's: `!` binds tightest, then
// and, then or.
package cond
