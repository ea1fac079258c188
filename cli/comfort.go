package cli

// comfortCommands are the verbs that make the CLI comfortable to live with: shell
// completion, man pages, waits for scripts.
func comfortCommands() []*Command {
	return append([]*Command{completionCommand, completeCommand, manCommand}, waitCommands()...)
}
