package auth_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
)

// reviewedComparisons is every comparison of two non-constant strings,
// byte slices or byte arrays in the auth package, by "file: function:
// expression", with why it may take time that depends on the data. Secret
// material — a presented key, a stored digest, a checksum — is compared
// only by equalString, EqualHash or crypto/subtle, none of which appear
// here. Map lookups by KeyHash (MemoryStore, CachedStore) compare digests,
// never keys, as KeyStore's documentation explains. A new comparison fails TestSecretComparisonsAreConstantTime until
// someone has looked at it and said why here.
var reviewedComparisons = map[string]string{
	"hash.go: IsZero: h == KeyHash{}":                        "compares a digest with the zero value, a public composite literal; reveals only whether a digest is unset",
	"principal.go: AllowsModel: m == model":                  "model names are public: the request's body and the key's configuration",
	"principal.go: HasScope: s == scope":                     "scopes are public configuration",
	"extract.go: value: strings.EqualFold(v, s.scheme)":      "v is a header that holds only a scheme name and no token",
	"extract.go: value: strings.EqualFold(scheme, s.scheme)": "the authentication scheme (Bearer), not the key",
}

// variableComparisons type-checks the package's non-test sources and lists
// every ==, != and EqualFold/Equal/Compare call whose operands are both
// non-constant strings or bytes.
func variableComparisons(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	_, err = conf.Check("github.com/tollgate/tollgate/auth", fset, files, info)
	require.NoError(t, err)

	var found []string
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if x, y, ok := compared(info, n); ok && isData(info, x) && isData(info, y) &&
					info.Types[x].Value == nil && info.Types[y].Value == nil {
					found = append(found, fmt.Sprintf("%s: %s: %s", filepath.Base(fset.Position(n.Pos()).Filename),
						fn.Name.Name, types.ExprString(n.(ast.Expr))))
				}
				return true
			})
		}
	}
	sort.Strings(found)
	return found
}

// compared returns the operands of a comparison: ==, != or a call to an
// equality function of strings, bytes, slices or reflect.
func compared(info *types.Info, n ast.Node) (x, y ast.Expr, ok bool) {
	switch e := n.(type) {
	case *ast.BinaryExpr:
		if e.Op == token.EQL || e.Op == token.NEQ {
			return e.X, e.Y, true
		}
	case *ast.CallExpr:
		sel, isSel := e.Fun.(*ast.SelectorExpr)
		if !isSel || len(e.Args) != 2 {
			return nil, nil, false
		}
		fn, isFunc := info.Uses[sel.Sel].(*types.Func)
		if !isFunc || fn.Pkg() == nil {
			return nil, nil, false
		}
		switch fn.Pkg().Path() + "." + fn.Name() {
		case "strings.EqualFold", "strings.Compare", "bytes.Equal", "bytes.EqualFold", "bytes.Compare",
			"slices.Equal", "reflect.DeepEqual":
			return e.Args[0], e.Args[1], true
		}
	}
	return nil, nil, false
}

// isData reports whether e is a string, a byte slice or a byte array: what
// a key or a digest can be. Comparisons with a constant are not listed:
// the constant is public, so its timing tells an attacker nothing that
// sending that constant would not.
func isData(info *types.Info, e ast.Expr) bool {
	tv, ok := info.Types[e]
	if !ok || tv.Type == nil {
		return false
	}
	switch u := tv.Type.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		b, isBasic := u.Elem().Underlying().(*types.Basic)
		return isBasic && b.Kind() == types.Byte
	case *types.Array:
		b, isBasic := u.Elem().Underlying().(*types.Basic)
		return isBasic && b.Kind() == types.Byte
	}
	return false
}

// TestSecretComparisonsAreConstantTime checks that the auth package
// compares no secret with a data-dependent-time operation: every
// comparison of variable strings or bytes it makes is one reviewed above,
// and none of those touches a key or a digest.
func TestSecretComparisonsAreConstantTime(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the package from source")
	}
	found := variableComparisons(t)
	var unreviewed []string
	seen := map[string]bool{}
	for _, c := range found {
		seen[c] = true
		if _, ok := reviewedComparisons[c]; !ok {
			unreviewed = append(unreviewed, c)
		}
	}
	assert.Empty(t, unreviewed, "comparisons nobody has reviewed for timing; if none involves a secret, add them to reviewedComparisons")
	for c := range reviewedComparisons {
		assert.True(t, seen[c], "reviewed comparison %q no longer exists; remove it", c)
	}
}

// TestConstantTimeHelpers checks the helpers that do compare secrets.
func TestConstantTimeHelpers(t *testing.T) {
	a, b := auth.HashKey("sk-one"), auth.HashKey("sk-two")
	assert.True(t, auth.EqualHash(a, a))
	assert.False(t, auth.EqualHash(a, b))
	last := a
	last[len(last)-1] ^= 1
	assert.False(t, auth.EqualHash(a, last), "a difference in the last byte counts")

	key, err := auth.GenerateKey("sk-")
	require.NoError(t, err)
	require.True(t, auth.CheckKey(key))
	for i := len(key) - 1; i >= len(key)-6; i-- {
		flipped := []byte(key)
		flipped[i] = map[bool]byte{true: 'A', false: 'B'}[flipped[i] != 'A']
		assert.False(t, auth.CheckKey(string(flipped)), "checksum character %d", i)
	}
}
