// Command bosun is the single binary of bosun: `bosun root`, `bosun relay` and `bosun agent`
// run the three roles, and every other verb is an operator command that talks to the root.
// main parses the verb, wires the pieces of each role from their Config, and maps errors to
// exit statuses in one switch (exitCode). Each role's flags are also the keys of its file,
// /etc/bosun/<role>.yaml (config.go; the file format is cli/flagfile's), or the directory
// $BOSUN_ROLE_CONFIG_DIR names, which TestMain sets so that tests never read /etc/bosun.
package main
