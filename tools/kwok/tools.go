//go:build tools

// Package tools pins kwok, which makes the pods of fake nodes Running and Ready.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
