package config

import (
	"maps"
	"slices"
)

// Profile returns the named profile.
func (c *Config) Profile(name string) (*Profile, bool) {
	p, ok := c.Profiles[name]
	return p, ok
}

// Watch returns the named watch folder.
func (c *Config) Watch(name string) (*Watch, bool) {
	for i := range c.Watches {
		if c.Watches[i].Name == name {
			return &c.Watches[i], true
		}
	}
	return nil, false
}

// ProfileNames lists the profiles in name order, for listings and messages.
func (c *Config) ProfileNames() []string { return slices.Sorted(maps.Keys(c.Profiles)) }
