package policy

import (
	"encoding/json"
	"fmt"
)

// DocFromJSON rebuilds the document of one object of the given kind from its JSON, as the
// root's event log keeps objects, so that a change is reverted by applying what was there
// before it.
func DocFromJSON(kind string, b []byte) (Doc, error) {
	d := Doc{Kind: kind, File: "event log"}
	var err error
	switch kind {
	case KindTechnique:
		d.Technique = new(Technique)
		err = json.Unmarshal(b, d.Technique)
	case KindDirective:
		d.Directive = new(Directive)
		err = json.Unmarshal(b, d.Directive)
	case KindGroup:
		d.Group = new(Group)
		err = json.Unmarshal(b, d.Group)
	case KindRule:
		d.Rule = new(Rule)
		err = json.Unmarshal(b, d.Rule)
	case KindParameter:
		d.Parameter = new(Parameter)
		err = json.Unmarshal(b, d.Parameter)
	case KindSettings:
		d.Settings = new(Settings)
		err = json.Unmarshal(b, d.Settings)
	default:
		return Doc{}, fmt.Errorf("%w: unknown kind %q", ErrInvalid, kind)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("%w: %s from the event log: %v", ErrInvalid, kind, err)
	}
	return d, nil
}
