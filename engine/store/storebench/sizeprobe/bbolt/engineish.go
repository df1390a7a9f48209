//go:build engineish

package main

import "github.com/plexus-hl7/plexus/engine/store/storebench/sizeprobe/engineish"

func init() { engineish.Use() }
