// Package cli is the operator's side of bosun: the command framework every verb of the
// binary uses (usage, help with examples and exit status, flags) and the operator verbs that
// talk to the root's API (bosun nodes ...).
//
// # Basics
//
// A verb is a [Command] whose Options type registers its flags on a pflag.FlagSet and runs.
// [Main] finds the verb in the arguments, parses its flags and runs it; `bosun help VERB` and
// `--help` print the same long help. Verbs that need the root find it, and their token, from
// flags, then the BOSUN_ROOT / BOSUN_TOKEN / BOSUN_ROOT_CERT environment, then the file
// `bosun root init` wrote ([DefaultConfigPath]).
//
// The verbs are comfortable to live with: [Main] takes --color on every verb and colours
// states only on a terminal (a table that ignores the escape codes keeps columns aligned);
// bosun completion writes bash, zsh and fish scripts from the command table; bosun man
// writes man pages from the help; bosun wait polls the root for scripts; [Progress] draws
// bars on stderr for long operations, on a terminal only.
//
// # Caveats
//
// cli reaches the root only through root/api's client and types; it never imports a role.
// Results go to stdout, diagnostics to stderr; --json prints documents with a schema
// version for programs.
package cli
