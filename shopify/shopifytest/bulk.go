package shopifytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

const (
	// bulkVariablesResource is the staged upload resource of a bulk
	// mutation's variables file.
	bulkVariablesResource = "BULK_MUTATION_VARIABLES"
	// maxBulkFileBytes bounds a variables file (Shopify allows 100 MB).
	maxBulkFileBytes = 100 << 20
)

// bulkOp is a bulk mutation. It reports RUNNING until it is read in a
// later request (WithBulkDuration: until a time has passed), and its lines
// take effect only then, when it turns COMPLETED with its result file: a
// client that gives up on it while it runs must expect its lines to apply
// later. bulkOperationCancel makes it CANCELING, and CANCELED at its next
// read, with the first half of its lines applied (those Shopify had run)
// and no result file.
type bulkOp struct {
	id         string
	status     string
	lines      int
	result     []byte
	createdReq int64
	reads      int
	createdAt  time.Time

	// run applies lines [from, to) and appends their results; nil once
	// the operation has ended, and for a bulk query, whose result is
	// written when it starts.
	run       func(from, to int)
	applied   int
	cancelReq int64 // the request that began canceling it
}

// bulkOperationRunMutation starts a bulk mutation: the variables file must
// have been uploaded to the staged path, the mutation must validate and
// select at most one connection, and no other bulk mutation may be running
// on the store (OPERATION_IN_PROGRESS). Callers hold s.mu.
func (s *Server) bulkOperationRunMutation(args map[string]any) (any, error) {
	refuse := func(code, msg string, field ...string) (any, error) {
		var f any
		if len(field) > 0 {
			f = field
		}
		return fields{name: "BulkOperationRunMutationPayload", values: map[string]any{
			"bulkOperation": nil,
			"userErrors": []object{fields{name: "BulkMutationUserError", values: map[string]any{
				"code": code, "field": f, "message": msg,
			}}},
		}}, nil
	}
	if busy := s.bulkBusy; busy != nil {
		s.advanceBulk(busy)
		if busy.status == "RUNNING" {
			return refuse("OPERATION_IN_PROGRESS", "A bulk mutation operation for this app and shop is already in progress: "+busy.id+".")
		}
	}
	path := str(args["stagedUploadPath"])
	var file *upload
	for _, u := range s.uploads {
		for _, p := range u.params {
			if p[0] == "key" && p[1] == path && u.resource == bulkVariablesResource && u.state == uploadDone {
				file = u
			}
		}
	}
	if file == nil {
		return refuse("NO_SUCH_FILE", "The JSONL file could not be found at "+path+".", "stagedUploadPath")
	}
	doc, perr := parser.ParseQuery(&ast.Source{Name: "bulk", Input: str(args["mutation"])})
	if perr != nil {
		return refuse("INVALID_MUTATION", "Invalid mutation: "+perr.Error(), "mutation")
	}
	if errs := validator.ValidateWithRules(s.schema, doc, nil); len(errs) > 0 {
		return refuse("INVALID_MUTATION", "Invalid mutation: "+errs.Error(), "mutation")
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Mutation || len(rootFields(doc.Operations[0])) != 1 {
		return refuse("INVALID_MUTATION", "Bulk mutations must hold exactly one mutation field.", "mutation")
	}
	op := doc.Operations[0]
	conns := 0
	var count func(ast.SelectionSet)
	count = func(set ast.SelectionSet) {
		walkFields(set, func(f *ast.Field) {
			if f.Arguments.ForName("first") != nil {
				conns++
			}
			count(f.SelectionSet)
		})
	}
	count(op.SelectionSet)
	if conns > 1 {
		return refuse("INVALID_MUTATION", "Bulk mutations may select at most one connection field.", "mutation")
	}

	var lineVars []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(file.content))
	sc.Buffer(make([]byte, 64<<10), maxBulkFileBytes)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var vars map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&vars); err != nil {
			return refuse("INVALID_STAGED_UPLOAD_FILE", fmt.Sprintf("Line %d is not a JSON object: %v", len(lineVars)+1, err), "stagedUploadPath")
		}
		lineVars = append(lineVars, vars)
	}
	s.nextNum++
	b := &bulkOp{id: "gid://shopify/BulkOperation/" + strconv.FormatInt(s.nextNum, 10), status: "RUNNING",
		lines: len(lineVars), createdReq: s.reqSeq, createdAt: s.now()}
	var result bytes.Buffer
	b.run = func(from, to int) {
		for i := from; i < to; i++ {
			out := map[string]any{"__lineNumber": i}
			if vv, err := validator.VariableValues(s.schema, op, lineVars[i]); err != nil {
				out["errors"] = toList(err)
			} else {
				ex := &executor{schema: s.schema, vars: vv, fragments: doc.Fragments}
				data, err := ex.object(mutationRoot{s}, op.SelectionSet, nil)
				if err != nil {
					out["errors"] = gqlerror.List{gqlerror.Errorf("%s", err.Error())}
				} else {
					out["data"] = data
				}
			}
			line, _ := json.Marshal(out)
			result.Write(line)
			result.WriteByte('\n')
		}
		b.applied = to
		b.result = result.Bytes()
	}
	lines := len(lineVars)
	s.bulkOps[b.id] = b
	s.bulkBusy = b
	s.latestBulk["MUTATION"] = b
	s.stats.BulkOperations++
	s.stats.BulkLines += lines
	return fields{name: "BulkOperationRunMutationPayload", values: map[string]any{
		"bulkOperation": bulkObj{s, b}, "userErrors": []object{},
	}}, nil
}

// advanceDue completes the running operations whose duration has passed,
// whether or not anybody reads them: Shopify runs a bulk operation's lines
// on its own time, and a client that lost sight of one still finds its
// videos on the products. Callers hold s.mu.
func (s *Server) advanceDue() {
	if s.cfg.bulkAfter <= 0 {
		return
	}
	for _, b := range []*bulkOp{s.bulkBusy, s.bulkQuery} {
		if b != nil {
			s.advanceBulk(b)
		}
	}
}

// advanceBulk completes a running operation, applying its lines, once it
// has been read in a later request or its duration has passed, and ends a
// canceling one. Callers hold s.mu.
func (s *Server) advanceBulk(b *bulkOp) {
	switch b.status {
	case "CANCELING":
		if s.reqSeq == b.cancelReq {
			return
		}
		if b.run != nil {
			b.run(0, b.lines/2)
		}
		b.run, b.result = nil, nil
		b.status = "CANCELED"
	case "RUNNING":
		if s.reqSeq != b.createdReq {
			b.reads++
		}
		done := b.reads >= s.cfg.bulkReads
		if s.cfg.bulkAfter > 0 {
			done = s.now().Sub(b.createdAt) >= s.cfg.bulkAfter
		}
		if !done {
			return
		}
		if b.run != nil { // a bulk query's result is written when it starts
			b.run(0, b.lines)
		}
		b.run = nil
		b.status = "COMPLETED"
	default:
		return
	}
	if s.bulkBusy == b {
		s.bulkBusy = nil
	}
	if s.bulkQuery == b {
		s.bulkQuery = nil
	}
}

// bulkOperationCancel starts canceling a running bulk operation; one that
// has ended is refused with a user error, as Shopify does. Callers hold
// s.mu.
func (s *Server) bulkOperationCancel(args map[string]any) (any, error) {
	b := s.bulkOps[str(args["id"])]
	var ues []object
	switch {
	case b == nil:
		ues = append(ues, userError("Bulk operation does not exist", "id"))
	case b.status == "RUNNING" || b.status == "CREATED":
		s.stats.BulkCancels++
		b.status, b.cancelReq = "CANCELING", s.reqSeq
	case b.status != "CANCELING":
		ues = append(ues, userError("A bulk operation cannot be canceled when it is "+strings.ToLower(b.status)))
	}
	var op any
	if b != nil {
		op = bulkObj{s, b}
	}
	if ues == nil {
		ues = []object{}
	}
	return fields{name: "BulkOperationCancelPayload", values: map[string]any{"bulkOperation": op, "userErrors": ues}}, nil
}

type bulkObj struct {
	s *Server
	b *bulkOp
}

func (bulkObj) typeName() string { return "BulkOperation" }

func (o bulkObj) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "id":
		return o.b.id, nil
	case "status":
		o.s.advanceBulk(o.b)
		return o.b.status, nil
	case "errorCode", "partialDataUrl":
		return nil, nil
	case "objectCount":
		o.s.advanceBulk(o.b)
		if o.b.status == "COMPLETED" {
			return strconv.Itoa(o.b.lines), nil
		}
		return "0", nil
	case "url":
		o.s.advanceBulk(o.b)
		if o.b.status != "COMPLETED" {
			return nil, nil
		}
		return o.s.URL + "/bulk-results/" + strings.TrimPrefix(o.b.id, "gid://shopify/BulkOperation/") + ".jsonl", nil
	}
	return nil, fmt.Errorf("field BulkOperation.%s is not implemented by the fake", name)
}

// serveBulkResult serves a completed bulk operation's result file: one
// JSON line per input line, in input order, each with the mutation's
// answer under data (or errors) and the input line's __lineNumber.
func (s *Server) serveBulkResult(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := s.bulkOps["gid://shopify/BulkOperation/"+strings.TrimSuffix(r.PathValue("id"), ".jsonl")]
	var body []byte
	if b != nil && b.status == "COMPLETED" {
		body = b.result
	}
	s.mu.Unlock()
	if body == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
