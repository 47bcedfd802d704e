package redisstore

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The Lua sources: one script per operation, each made of the libraries it
// needs followed by its body. Every script touches only the keys it is
// given, all in one hash slot, and is atomic on the server.
//
//go:embed lua/*.lua
var luaFiles embed.FS

func lua(names ...string) *redis.Script {
	var src []byte
	for _, n := range names {
		b, err := luaFiles.ReadFile("lua/" + n + ".lua")
		if err != nil {
			panic(err) // the files are embedded: only a broken build gets here
		}
		src = append(src, b...)
		src = append(src, '\n')
	}
	return redis.NewScript(string(src))
}

var (
	takeScript     = lua("int", "time", "take")
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
