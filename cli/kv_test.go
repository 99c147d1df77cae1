package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestKVGet(t *testing.T) {
	one := map[string]http.HandlerFunc{"GET /v1/kv/foo": replyJSON(
		`[{"Key":"foo","Value":"YmFy","Flags":3,"CreateIndex":5,"ModifyIndex":6,"LockIndex":0}]`)}
	tree := map[string]http.HandlerFunc{"GET /v1/kv/app/": replyJSON(
		`[{"Key":"app/a","Value":"MQ==","Flags":0},{"Key":"app/b","Value":null,"Flags":0},{"Key":"app/c/d","Value":"eA==","Flags":0}]`)}
	missing := map[string]http.HandlerFunc{"*": reply(404, "")}
	runCases(t, []cliCase{
		{name: "value", args: []string{"kv", "get", "foo"}, routes: one, wantOut: "bar\n", wantReqs: []string{"GET /v1/kv/foo"}},
		{name: "leading slash", args: []string{"kv", "get", "/foo"}, routes: one, wantOut: "bar\n", wantReqs: []string{"GET /v1/kv/foo"}},
		{name: "stale", args: []string{"kv", "get", "-stale", "foo"}, routes: one, wantOut: "bar\n", wantReqs: []string{"GET /v1/kv/foo?stale"}},
		{name: "base64", args: []string{"kv", "get", "-base64", "foo"}, routes: one, wantOut: "YmFy\n"},
		{name: "detailed", args: []string{"kv", "get", "-detailed", "foo"}, routes: one,
			wantOut: "CreateIndex  5\nFlags        3\nKey          foo\nLockIndex    0\nModifyIndex  6\nSession      -\nValue        bar\n"},
		{name: "json", args: []string{"kv", "get", "-format", "json", "foo"}, routes: one,
			outHas: []string{`"Key": "foo"`, `"Value": "YmFy"`, `"ModifyIndex": 6`}},
		{name: "unknown key", args: []string{"kv", "get", "foo"}, routes: missing, wantCode: 1,
			errHas: []string{"Error! No key exists at: foo\n"}},
		{name: "unknown key json", args: []string{"kv", "get", "-format", "json", "foo"}, routes: missing, wantCode: 1,
			errHas: []string{"Error! No key exists at: foo"}},
		{name: "missing key argument", args: []string{"kv", "get"}, wantCode: 1, errHas: []string{"missing KEY argument"}},
		{name: "recurse", args: []string{"kv", "get", "-recurse", "app/"}, routes: tree,
			wantOut: "app/a:1\napp/b:\napp/c/d:x\n", wantReqs: []string{"GET /v1/kv/app/?recurse"}},
		{name: "recurse detailed", args: []string{"kv", "get", "-recurse", "-detailed", "app/"}, routes: tree,
			outHas: []string{"Key          app/a\n", "Value        1\n\nCreateIndex"}},
		{name: "recurse nothing", args: []string{"kv", "get", "-recurse", "app/"}, routes: missing, wantOut: ""},
		{name: "recurse nothing json", args: []string{"kv", "get", "-recurse", "-format", "json", "app/"}, routes: missing, wantOut: "[]\n"},
		{name: "recurse root", args: []string{"kv", "get", "-recurse"}, routes: map[string]http.HandlerFunc{"GET /v1/kv/": replyJSON(`[]`)},
			wantReqs: []string{"GET /v1/kv/?recurse"}},
		{name: "keys", args: []string{"kv", "get", "-keys", "app/"},
			routes:  map[string]http.HandlerFunc{"GET /v1/kv/app/": replyJSON(`["app/a","app/c/"]`)},
			wantOut: "app/a\napp/c/\n", wantReqs: []string{"GET /v1/kv/app/?keys&separator=%2F"}},
		{name: "keys separator", args: []string{"kv", "get", "-keys", "-separator", "", "app/"},
			routes:   map[string]http.HandlerFunc{"GET /v1/kv/app/": replyJSON(`["app/a","app/c/d"]`)},
			wantOut:  "app/a\napp/c/d\n",
			wantReqs: []string{"GET /v1/kv/app/?keys&separator"}},
		{name: "keys nothing", args: []string{"kv", "get", "-keys", "app/"}, routes: missing, wantOut: ""},
		{name: "escaped key", args: []string{"kv", "get", "a b?c"},
			routes:  map[string]http.HandlerFunc{"GET /v1/kv/a b?c": replyJSON(`[{"Key":"a b?c","Value":"eA=="}]`)},
			wantOut: "x\n", check: func(t *testing.T, reqs []recordedRequest) {
				if reqs[0].Path != "/v1/kv/a b?c" || reqs[0].RawQuery != "" {
					t.Errorf("path %q query %q", reqs[0].Path, reqs[0].RawQuery)
				}
			}},
		{name: "server error", args: []string{"kv", "get", "foo"}, routes: map[string]http.HandlerFunc{"*": reply(500, "No cluster leader")},
			wantCode: 1, errHas: []string{"Error querying agent: Unexpected response code: 500 (No cluster leader)"}},
	})
}

func TestKVPut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "value.txt")
	os.WriteFile(file, []byte("from\nfile"), 0o600)
	ok := map[string]http.HandlerFunc{"PUT /v1/kv/foo": replyJSON("true")}
	casFail := map[string]http.HandlerFunc{"PUT /v1/kv/foo": replyJSON("false")}
	runCases(t, []cliCase{
		{name: "value", args: []string{"kv", "put", "foo", "bar"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantReqs: []string{"PUT /v1/kv/foo"}, wantBody: "bar"},
		{name: "empty value", args: []string{"kv", "put", "foo"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", check: func(t *testing.T, reqs []recordedRequest) {
				if len(reqs[0].Body) != 0 {
					t.Errorf("body %q", reqs[0].Body)
				}
			}},
		{name: "file", args: []string{"kv", "put", "foo", "@" + file}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantBody: "from\nfile"},
		{name: "stdin", args: []string{"kv", "put", "foo", "-"}, stdin: "piped\x00bytes", routes: ok,
			wantOut: "Success! Data written to: foo\n", wantBody: "piped\x00bytes"},
		{name: "base64", args: []string{"kv", "put", "-base64", "foo", "YmFy"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantBody: "bar"},
		{name: "bad base64", args: []string{"kv", "put", "-base64", "foo", "!!"}, wantCode: 1,
			errHas: []string{"Error! illegal base64"}},
		{name: "flags", args: []string{"kv", "put", "-flags", "42", "foo", "bar"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantReqs: []string{"PUT /v1/kv/foo?flags=42"}},
		{name: "cas", args: []string{"kv", "put", "-cas", "-modify-index", "7", "foo", "bar"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantReqs: []string{"PUT /v1/kv/foo?cas=7"}},
		{name: "cas create only", args: []string{"kv", "put", "-cas", "-modify-index", "0", "foo", "bar"}, routes: ok,
			wantOut: "Success! Data written to: foo\n", wantReqs: []string{"PUT /v1/kv/foo?cas=0"}},
		{name: "cas failed", args: []string{"kv", "put", "-cas", "-modify-index", "7", "foo", "bar"}, routes: casFail,
			wantCode: 1, errHas: []string{"Error! Did not write to foo: CAS failed"}},
		{name: "cas without index", args: []string{"kv", "put", "-cas", "foo", "bar"}, wantCode: 1,
			errHas: []string{"-cas requires -modify-index"}, wantReqs: []string{}},
		{name: "index without cas", args: []string{"kv", "put", "-modify-index", "3", "foo", "bar"}, wantCode: 1,
			errHas: []string{"-modify-index requires -cas"}},
		{name: "bad index", args: []string{"kv", "put", "-cas", "-modify-index", "-1", "foo", "bar"}, wantCode: 1,
			errHas: []string{"invalid value"}},
		{name: "missing file", args: []string{"kv", "put", "foo", "@/no/such/file"}, wantCode: 1,
			errHas: []string{"Error! failed to read file"}},
		{name: "no key", args: []string{"kv", "put"}, wantCode: 1, errHas: []string{"missing arguments"}},
		{name: "too many", args: []string{"kv", "put", "a", "b", "c"}, wantCode: 1, errHas: []string{"too many arguments"}},
		{name: "too large", args: []string{"kv", "put", "foo", "bar"},
			routes:   map[string]http.HandlerFunc{"*": reply(413, "Value exceeds 524288 byte limit")},
			wantCode: 1, errHas: []string{"Error writing data to foo: Unexpected response code: 413 (Value exceeds 524288 byte limit)"}},
	})
}

func TestKVDelete(t *testing.T) {
	runCases(t, []cliCase{
		{name: "key", args: []string{"kv", "delete", "foo"},
			routes:  map[string]http.HandlerFunc{"DELETE /v1/kv/foo": replyJSON("true")},
			wantOut: "Success! Deleted key: foo\n", wantReqs: []string{"DELETE /v1/kv/foo"}},
		{name: "recurse", args: []string{"kv", "delete", "-recurse", "app/"},
			routes:  map[string]http.HandlerFunc{"DELETE /v1/kv/app/": replyJSON("true")},
			wantOut: "Success! Deleted keys with prefix: app/\n", wantReqs: []string{"DELETE /v1/kv/app/?recurse"}},
		{name: "recurse everything", args: []string{"kv", "delete", "-recurse"},
			routes:  map[string]http.HandlerFunc{"DELETE /v1/kv/": replyJSON("true")},
			wantOut: "Success! Deleted keys with prefix: \n"},
		{name: "cas", args: []string{"kv", "delete", "-cas", "-modify-index", "9", "foo"},
			routes:  map[string]http.HandlerFunc{"DELETE /v1/kv/foo": replyJSON("true")},
			wantOut: "Success! Deleted key: foo\n", wantReqs: []string{"DELETE /v1/kv/foo?cas=9"}},
		{name: "cas failed", args: []string{"kv", "delete", "-cas", "-modify-index", "9", "foo"},
			routes:   map[string]http.HandlerFunc{"DELETE /v1/kv/foo": replyJSON("false")},
			wantCode: 1, errHas: []string{"Error! Did not delete key foo: CAS failed"}},
		{name: "cas and recurse", args: []string{"kv", "delete", "-cas", "-modify-index", "9", "-recurse", "foo"},
			wantCode: 1, errHas: []string{"cannot combine -cas and -recurse"}},
		{name: "no key", args: []string{"kv", "delete"}, wantCode: 1, errHas: []string{"missing KEY argument"}},
		{name: "forbidden", args: []string{"kv", "delete", "foo"}, routes: map[string]http.HandlerFunc{"*": reply(403, "Permission denied")},
			wantCode: 1, errHas: []string{"Error deleting foo: Unexpected response code: 403 (Permission denied)"}},
	})
}

func TestKVExportImport(t *testing.T) {
	const export = "[\n" +
		"\t{\n\t\t\"key\": \"app/a\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"MQ==\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"app/b\",\n\t\t\"flags\": 5,\n\t\t\"value\": \"\"\n\t}\n]\n"
	file := filepath.Join(t.TempDir(), "export.json")
	os.WriteFile(file, []byte(export), 0o600)
	put := map[string]http.HandlerFunc{"PUT /v1/kv/app/a": replyJSON("true"), "PUT /v1/kv/app/b": replyJSON("true"),
		"PUT /v1/kv/new/app/a": replyJSON("true"), "PUT /v1/kv/new/app/b": replyJSON("true")}
	bodies := func(want ...string) func(*testing.T, []recordedRequest) {
		return func(t *testing.T, reqs []recordedRequest) {
			for i, r := range reqs {
				if string(r.Body) != want[i] {
					t.Errorf("request %d body %q, want %q", i, r.Body, want[i])
				}
			}
		}
	}
	runCases(t, []cliCase{
		{name: "export", args: []string{"kv", "export", "app/"},
			routes: map[string]http.HandlerFunc{"GET /v1/kv/app/": replyJSON(
				`[{"Key":"app/a","Value":"MQ==","Flags":0},{"Key":"app/b","Value":null,"Flags":5}]`)},
			wantOut: export, wantReqs: []string{"GET /v1/kv/app/?recurse"}},
		{name: "export empty", args: []string{"kv", "export"}, routes: map[string]http.HandlerFunc{"*": reply(404, "")},
			wantOut: "[]\n", wantReqs: []string{"GET /v1/kv/?recurse"}},
		{name: "import file", args: []string{"kv", "import", "@" + file}, routes: put,
			wantOut:  "Imported: app/a\nImported: app/b\n",
			wantReqs: []string{"PUT /v1/kv/app/a", "PUT /v1/kv/app/b?flags=5"}, check: bodies("1", "")},
		{name: "import stdin", args: []string{"kv", "import", "-"}, stdin: export, routes: put,
			wantOut: "Imported: app/a\nImported: app/b\n"},
		{name: "import stdin by default", args: []string{"kv", "import"}, stdin: export, routes: put,
			wantOut: "Imported: app/a\nImported: app/b\n"},
		{name: "import inline with prefix", args: []string{"kv", "import", "-prefix", "new/", `[{"key":"app/a","flags":0,"value":"MQ=="}]`},
			routes: put, wantOut: "Imported: new/app/a\n", wantReqs: []string{"PUT /v1/kv/new/app/a"}},
		{name: "import bad json", args: []string{"kv", "import", "[{"}, wantCode: 1,
			errHas: []string{"Error! cannot unmarshal data"}},
		{name: "import bad base64 writes nothing", args: []string{"kv", "import", `[{"key":"a","value":"MQ=="},{"key":"b","value":"!"}]`},
			wantCode: 1, errHas: []string{"base64-decoding the value of key b"}, wantReqs: []string{}},
		{name: "import fails midway", args: []string{"kv", "import", `[{"key":"app/a","value":""},{"key":"x","value":""}]`},
			routes: map[string]http.HandlerFunc{"PUT /v1/kv/app/a": replyJSON("true"), "*": reply(500, "boom")}, wantCode: 1,
			wantOut: "Imported: app/a\n", errHas: []string{"Error writing data to x: Unexpected response code: 500 (boom)"}},
	})
}
