// Package policy is the policy model of the root: techniques, directives, groups, rules,
// global parameters and settings, and the compiler that turns them into each node's
// applied policy (wire.AppliedPolicy).
//
// # Basics
//
// A [Model] holds the operators' objects as plain structs that encode to JSON for the
// store. [LoadDocs] and [LoadPath] read the YAML documents of `bosun apply -f`;
// [Model.Apply] applies them all or nothing, after validating the whole resulting model
// ([Model.Validate]); [Model.Export] writes documents that apply back to the same model.
// Errors name the file, line and field ([Error]).
//
// Techniques use Rudder's YAML format ([LoadTechnique]; docs/techniques.md); the ones built
// into bosun are in library/ ([Library]). A technique may call only the generic methods
// bosun implements (methods.txt, [LookupMethod]).
//
// A [Compiler] compiles every node's applied policy ([Compiler.Load]) and afterwards only
// what a change reaches ([Compiler.SetModel], [Compiler.UpsertNodes]): group memberships
// and rule targets are kept as bitsets over nodes, and a node whose content is unchanged
// keeps its config id and is not emitted. Policy modes resolve as DESIGN.md §1 says
// ([ResolveMode]); [Explain] tells why a directive runs on a node.
//
// # Caveats
//
// policy does no network I/O and does not import the inventory, store or role packages: the
// root hands it [Node] values and stores what it emits. It is the only package that imports
// the YAML module. Conditions are parsed with package cond, the same code the agent
// evaluates them with.
package policy
