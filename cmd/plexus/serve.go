package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/engine/config"
)

// settings are the process's own settings (not routes): flags, then
// PLEXUS_* environment, then the settings file, then defaults.
type settings struct {
	Config          string
	DataDir         string
	Admin           string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
}

func loadSettings(cmd *cobra.Command) (*settings, error) {
	v := viper.New()
	v.SetDefault("config", "routes.yaml")
	v.SetDefault("data-dir", "data")
	v.SetDefault("admin", "127.0.0.1:9900")
	v.SetDefault("log-level", "info")
	v.SetDefault("log-format", "json")
	v.SetDefault("shutdown-timeout", 30*time.Second)
	v.SetEnvPrefix("PLEXUS")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return nil, err
	}
	// The settings file: --settings, else plexus.yaml here or in
	// /etc/plexus. Named exactly: viper's own search would also take a
	// file called "plexus" (the binary, built in the working directory).
	f := v.GetString("settings")
	if f == "" {
		for _, c := range []string{"plexus.yaml", "/etc/plexus/plexus.yaml"} {
			if _, err := os.Stat(c); err == nil {
				f = c
				break
			}
		}
	}
	if f != "" {
		v.SetConfigFile(f)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("settings file %s: %w", f, err)
		}
	}
	s := &settings{
		Config:          v.GetString("config"),
		DataDir:         v.GetString("data-dir"),
		Admin:           v.GetString("admin"),
		LogLevel:        v.GetString("log-level"),
		LogFormat:       v.GetString("log-format"),
		ShutdownTimeout: v.GetDuration("shutdown-timeout"),
	}
	return s, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, fmt.Errorf("log format %q: want json or text", format)
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the interface engine",
		Long: `Run the engine that routes.yaml describes: MLLP listeners that journal every
message before acknowledging it, the routes and transforms, and the
destinations' outboxes. Admin endpoints (/metrics, /healthz, /readyz, /api/)
listen on --admin. SIGINT or SIGTERM stops taking messages, routes what was
received and gives pending deliveries until --shutdown-timeout. SIGHUP reloads
the routes (when, transform, to, from) from the routes file without dropping a
connection; a change to listeners, destinations or other sections needs a
restart, and the reload is refused (logged) until then.

Settings come from flags, then PLEXUS_* environment variables (PLEXUS_DATA_DIR,
PLEXUS_ADMIN, ...), then a settings file (--settings, or plexus.yaml in the
working directory or /etc/plexus), then the defaults shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return serve(cmd.Context(), s, cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringP("config", "c", "routes.yaml", "routes file")
	f.String("data-dir", "data", "directory of the journal and outboxes")
	f.String("admin", "127.0.0.1:9900", "address of the admin endpoints (empty: none)")
	f.String("log-level", "info", "debug, info, warn or error")
	f.String("log-format", "json", "json or text")
	f.Duration("shutdown-timeout", 30*time.Second, "how long a stop waits for pending deliveries")
	f.String("settings", "", "settings file (YAML)")
	return cmd
}

// serve runs the engine until ctx ends or a signal comes. started, when
// set, receives the engine once it listens (tests).
func serve(ctx context.Context, s *settings, logw io.Writer, started func(*engine.Engine, net.Addr)) error {
	log, err := newLogger(logw, s.LogLevel, s.LogFormat)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg, err := config.Load(s.Config)
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			return &exitError{code: 2, err: fmt.Errorf("%s has %d problem(s):\n%w", s.Config, len(ce), err)}
		}
		return &exitError{code: 2, err: err}
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.Pos.String()+": "+w.Msg)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The admin port first: a failure to bind it must stop the start
	// before any message is acknowledged.
	var adminLn net.Listener
	if s.Admin != "" {
		if adminLn, err = net.Listen("tcp", s.Admin); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("admin address: %w", err)}
		}
		defer adminLn.Close()
	}
	e, err := engine.New(ctx, engine.Options{Config: cfg, DataDir: s.DataDir, Logger: log})
	if err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
		defer cancel()
		e.Shutdown(sctx)
		return err
	}
	var adminAddr net.Addr
	var admin *http.Server
	if adminLn != nil {
		adminAddr = adminLn.Addr()
		admin = &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go admin.Serve(adminLn)
		log.Info("admin listening", "addr", adminAddr.String())
	}
	// SIGHUP reloads the routes (when, transform, to) without dropping a
	// connection; other changes are refused until a restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				nc, err := config.Load(s.Config)
				if err != nil {
					log.Error("reload: routes file has problems; keeping the running routes", "err", err.Error())
					continue
				}
				if err := e.Reload(nc); err != nil {
					log.Error("reload refused; keeping the running routes", "err", err.Error())
				}
			}
		}
	}()
	log.Info("started", "config", s.Config, "data_dir", s.DataDir)
	if started != nil {
		started(e, adminAddr)
	}
	<-ctx.Done()
	log.Info("stopping", "timeout", s.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if admin != nil {
		// before the engine: the API reads the store
		actx, acancel := context.WithTimeout(sctx, 2*time.Second)
		admin.Shutdown(actx)
		acancel()
	}
	err = e.Shutdown(sctx)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
