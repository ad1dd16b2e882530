//go:build tools

// Package tools pins Prometheus 3 (module v0.3XX.Y is Prometheus 3.XX.Y) for the analysis and end-to-end tests,
// and its promtool, which backfills test data exactly as Prometheus 3 stores it.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
