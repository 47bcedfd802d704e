package errors_test

import "log/slog"

var discardLogger = slog.New(slog.DiscardHandler)
