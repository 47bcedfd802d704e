package redisstore_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// privateRedis is a redis-server child of the test, on a free port, that
// the test may kill and restart without touching the shared server. It
// appends every write to its AOF with fsync, so a SIGKILL loses nothing,
// as on a production server configured for durability.
type privateRedis struct {
	t      *testing.T
	bin    string
	dir    string
	addr   string
	extra  []string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startPrivateRedis starts the server, skipping the test when there is no
// redis-server binary (failing under CI=true).
func startPrivateRedis(t *testing.T, extra ...string) *privateRedis {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed: the restart tests need the binary (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (required under CI=true)")
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := &privateRedis{t: t, bin: bin, dir: t.TempDir(), addr: addr, extra: extra}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start runs the server and returns once it accepts connections, which it
// says on its log.
func (s *privateRedis) start() {
	_, port, _ := net.SplitHostPort(s.addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", ""}, s.extra...)
	s.cmd = exec.Command(s.bin, args...)
	out, err := s.cmd.StdoutPipe()
	require.NoError(s.t, err)
	require.NoError(s.t, s.cmd.Start())
	ready, exited := make(chan struct{}), make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		announced := false
		for sc.Scan() {
			if !announced {
				log.WriteString(sc.Text() + "\n")
			}
			if !announced && strings.Contains(sc.Text(), "Ready to accept connections") {
				announced = true
				close(ready)
			}
		}
		_ = s.cmd.Wait()
		close(exited)
	}()
	s.exited = exited
	select {
	case <-ready:
	case <-exited:
		s.t.Fatalf("redis-server exited at start:\n%s", log.String())
	case <-time.After(20 * time.Second):
		s.kill()
		s.t.Fatal("redis-server did not become ready in 20 s")
	}
}

// kill sends SIGKILL, as a crash would, and waits for the process to end.
func (s *privateRedis) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}
