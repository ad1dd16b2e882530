//go:build tools

// Package tools pins Prometheus 3 (module v0.3XX.Y is Prometheus 3.XX.Y) for the analysis and end-to-end tests.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
