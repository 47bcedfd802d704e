package redisstore

import (
	"context"
	"crypto/sha1"
	"embed"
	"encoding/hex"

	"github.com/redis/go-redis/v9"
)

// The Lua sources: one script per operation, each made of the libraries it
// needs followed by its body. Every script touches only the keys it is
// given, all in one hash slot, and is atomic on the server.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// script is one Lua script, its source and SHA-1 digest boxed once so that
// putting them in a command allocates nothing.
type script struct {
	src, sha any
}

func lua(names ...string) *script {
	var src []byte
	for _, n := range names {
		b, err := luaFiles.ReadFile("lua/" + n + ".lua")
		if err != nil {
			panic(err) // the files are embedded: only a broken build gets here
		}
		src = append(src, b...)
		src = append(src, '\n')
	}
	sum := sha1.Sum(src)
	return &script{src: string(src), sha: hex.EncodeToString(sum[:])}
}

var (
	takeScript     = lua("takefast", "int", "time", "take")
	debitScript    = lua("int", "time", "debit")
	acquireScript  = lua("int", "acquire")
	releaseScript  = lua("release")
	reserveScript  = lua("int", "more", "account", "reserve")
	closeScript    = lua("int", "more", "account", "close")
	balanceScript  = lua("int", "more", "account", "balance")
	creditScript   = lua("int", "more", "account", "credit")
	wreserveScript = lua("int", "more", "window", "wreserve")
	wcloseScript   = lua("int", "more", "window", "wclose")
	wusageScript   = lua("int", "more", "window", "wusage")
)

// command returns the start of an EVALSHA of sc with nkeys keys, with
// room for n more arguments: the keys, then the script's ARGV.
func (sc *script) command(nkeys, n int) []any {
	return append(make([]any, 0, 3+n), "evalsha", sc.sha, nkeys)
}

// processor is what every go-redis client is besides a redis.Scripter:
// it runs a command built by the caller.
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

// eval runs cmd, an EVALSHA built by sc.command, and returns the script's
// reply as integers. A server that lacks the script (restarted, or SCRIPT
// FLUSHed) answers NOSCRIPT, and the script is sent again in full.
//
// The command goes through the client's Process as an IntSliceCmd, which
// reads the reply straight into []int64: no interface per element, no
// copy. A Scripter that cannot Process (a fake, a wrapper) gets the same
// calls through EvalSha and Eval.
func (sc *script) eval(ctx context.Context, rdb redis.Scripter, cmd []any) ([]int64, error) {
	p, ok := rdb.(processor)
	if !ok {
		return sc.evalScripter(ctx, rdb, cmd)
	}
	vals, err := process(ctx, p, cmd)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		full := append([]any{"eval", sc.src}, cmd[2:]...)
		vals, err = process(ctx, p, full)
	}
	return vals, err
}

// process runs one EVAL or EVALSHA command through p.
func process(ctx context.Context, p processor, args []any) ([]int64, error) {
	cmd := redis.NewIntSliceCmd(ctx, args...)
	if args[2] != 0 {
		cmd.SetFirstKeyPos(3) // as go-redis's own Eval does, for cluster routing
	}
	_ = p.Process(ctx, cmd)
	return cmd.Result()
}

// evalScripter runs cmd through the Scripter interface alone.
func (sc *script) evalScripter(ctx context.Context, rdb redis.Scripter, cmd []any) ([]int64, error) {
	nkeys := cmd[2].(int)
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = cmd[3+i].(string)
	}
	args := cmd[3+nkeys:]
	r := rdb.EvalSha(ctx, sc.sha.(string), keys, args...)
	if err := r.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		r = rdb.Eval(ctx, sc.src.(string), keys, args...)
	}
	return r.Int64Slice()
}
