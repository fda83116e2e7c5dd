package shopifytest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// maxRequestBytes bounds a GraphQL request body.
const maxRequestBytes = 1 << 20

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// serveGraphQL answers a GraphQL request the way Shopify does: 401 without
// a valid token, and otherwise HTTP 200 with data and/or errors, including
// for documents that do not parse or validate and for THROTTLED refusals.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": "Method not allowed"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.cfg.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)",
		})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"errors": "request body too large"})
		return
	}
	status, answer := s.handleGraphQL(body)
	w.Header().Set("X-Shopify-API-Version", r.PathValue("version"))
	if f, ok := answer.(*Fault); ok {
		writeFault(w, f)
		return
	}
	writeJSON(w, status, answer)
}

// handleGraphQL runs one request body and returns the HTTP status and the
// JSON answer, or a *Fault to answer instead.
func (s *Server) handleGraphQL(body []byte) (int, any) {
	var req gqlRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.Query == "" {
		return http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqSeq++
	s.stats.Requests++
	s.advanceDue()

	doc, perr := parser.ParseQuery(&ast.Source{Name: "request", Input: req.Query})
	if perr != nil {
		s.stats.Invalid++
		return http.StatusOK, errorAnswer(toList(perr), s.freeCost())
	}
	op, err := pickOperation(doc, req.OperationName)
	if err != nil {
		s.stats.Invalid++
		return http.StatusOK, errorAnswer(gqlerror.List{gqlerror.Errorf("%s", err.Error())}, s.freeCost())
	}
	fields := rootFields(op)
	for _, f := range fields {
		s.stats.Calls[f]++
	}
	if errs := validator.ValidateWithRules(s.schema, doc, nil); len(errs) > 0 {
		s.stats.Invalid++
		return http.StatusOK, errorAnswer(errs, s.freeCost())
	}
	vars, err := validator.VariableValues(s.schema, op, req.Variables)
	if err != nil {
		s.stats.Invalid++
		return http.StatusOK, errorAnswer(toList(err), s.freeCost())
	}

	fault := s.takeFault(fields...)
	if fault == nil {
		fault = s.randomFault()
	}
	if fault != nil && !fault.AfterExecute {
		return 0, fault
	}

	now := s.now()
	requested := s.requestedCost(op, vars)
	s.bucket.refill(now)
	if requested > s.bucket.capacity {
		e := gqlerror.Errorf("Query cost is %d, which exceeds the single query max cost limit (%d).", int(requested), int(s.bucket.capacity))
		e.Extensions = map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": s.bucket.capacity}
		return http.StatusOK, errorAnswer(gqlerror.List{e}, s.costExtension(requested, nil))
	}
	if !s.bucket.take(requested, now) {
		s.stats.Throttled++
		e := gqlerror.Errorf("Throttled")
		e.Extensions = map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}
		return http.StatusOK, errorAnswer(gqlerror.List{e}, s.costExtension(requested, nil))
	}

	ex := &executor{schema: s.schema, vars: vars, fragments: doc.Fragments}
	var root object = queryRoot{s}
	if op.Operation == ast.Mutation {
		root = mutationRoot{s}
	}
	data, err := ex.object(root, op.SelectionSet, nil)
	actual := min(requested, s.actualCost(op, data))
	s.bucket.refund(requested - actual)
	s.stats.PointsDebited += actual
	if fault != nil {
		return 0, fault
	}
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Errorf("%s", err.Error())
		}
		return http.StatusOK, map[string]any{"data": nil, "errors": gqlerror.List{ge}, "extensions": s.costExtension(requested, &actual)}
	}
	return http.StatusOK, map[string]any{"data": data, "extensions": s.costExtension(requested, &actual)}
}

// costExtension is extensions with Shopify's cost report; actual is nil
// for a refused request.
func (s *Server) costExtension(requested float64, actual *float64) map[string]any {
	var act any
	if actual != nil {
		act = *actual
	}
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": requested,
		"actualQueryCost":    act,
		"throttleStatus": map[string]any{
			"maximumAvailable":   s.bucket.capacity,
			"currentlyAvailable": s.bucket.level,
			"restoreRate":        s.bucket.rate,
		},
	}}
}

// freeCost is the cost report of a request refused before it ran, which
// is charged nothing; the bucket is reported all the same, as every answer
// reports it. Callers hold s.mu.
func (s *Server) freeCost() map[string]any {
	zero := 0.0
	s.bucket.refill(s.now())
	return s.costExtension(0, &zero)
}

func errorAnswer(errs gqlerror.List, extensions map[string]any) map[string]any {
	for _, e := range errs {
		if e.Extensions == nil && e.Rule != "" {
			e.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED", "rule": e.Rule}
		}
	}
	out := map[string]any{"errors": errs}
	if extensions != nil {
		out["extensions"] = extensions
	}
	return out
}

func toList(err error) gqlerror.List {
	var list gqlerror.List
	if errors.As(err, &list) {
		return list
	}
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		return gqlerror.List{ge}
	}
	return gqlerror.List{gqlerror.Errorf("%s", err.Error())}
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("no operation named %q", name)
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("the document has %d operations; give operationName", len(doc.Operations))
	}
	return doc.Operations[0], nil
}

// rootFields names the fields an operation selects at its root.
func rootFields(op *ast.OperationDefinition) []string {
	var names []string
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 {
		names = []string{""}
	}
	return names
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// mutationCost is what each mutation field costs before its payload.
const mutationCost = 10

// requestedCost estimates a request's cost before it runs, the way Shopify
// describes it for queries: each object costs 1, scalars and enums cost
// nothing, and a connection asked for with first: n costs 2 plus n times
// one item; a list asked for by IDs (nodes(ids:)) costs one item per ID.
// A mutation field costs 10 plus the connections its payload selects,
// priced the same way; the plain objects of a payload (the product,
// userErrors, staged targets) are taken to be part of the 10. That last
// rule is this fake's assumption: Shopify documents mutations at 10 points
// without saying how their payloads count.
func (s *Server) requestedCost(op *ast.OperationDefinition, vars map[string]any) float64 {
	if op.Operation == ast.Mutation {
		total := 0.0
		for _, sel := range op.SelectionSet {
			if f, ok := sel.(*ast.Field); ok {
				total += mutationCost + s.connectionCost(f.SelectionSet, vars)
			}
		}
		return total
	}
	return max(1, s.selectionCost(op.SelectionSet, vars))
}

// connectionCost is the requested cost of the connections in a mutation's
// payload.
func (s *Server) connectionCost(set ast.SelectionSet, vars map[string]any) float64 {
	total := 0.0
	walkFields(set, func(f *ast.Field) {
		if n, ok := f.ArgumentMap(vars)["first"]; ok && n != nil {
			total += 2 + float64(toInt(n))*s.itemCost(f.SelectionSet, vars, s.selectionCost(f.SelectionSet, vars))
			return
		}
		total += s.connectionCost(f.SelectionSet, vars)
	})
	return total
}

// actualCost is what a request is debited after it ran: one point per
// object returned, so a connection costs what its nodes cost, not its page
// size. A mutation is debited 10 per field plus, for each connection in
// its payload, 2 and the objects its nodes hold.
func (s *Server) actualCost(op *ast.OperationDefinition, data map[string]any) float64 {
	if op.Operation == ast.Mutation {
		total := 0.0
		for _, sel := range op.SelectionSet {
			if f, ok := sel.(*ast.Field); ok {
				key := cmp.Or(f.Alias, f.Name)
				total += mutationCost + s.connectionsReturned(f.SelectionSet, data[key])
			}
		}
		return total
	}
	return max(1, countObjects(data)-1) // the data object itself is free
}

// connectionsReturned walks a mutation payload's answer beside its
// selection and counts the connections in it: 2 each plus the objects of
// their nodes.
func (s *Server) connectionsReturned(set ast.SelectionSet, v any) float64 {
	switch v := v.(type) {
	case []any:
		total := 0.0
		for _, x := range v {
			total += s.connectionsReturned(set, x)
		}
		return total
	case map[string]any:
		total := 0.0
		walkFields(set, func(f *ast.Field) {
			child := v[cmp.Or(f.Alias, f.Name)]
			if f.Arguments.ForName("first") != nil {
				if conn, ok := child.(map[string]any); ok {
					total += 2 + countObjects(conn["nodes"])
				}
				return
			}
			total += s.connectionsReturned(f.SelectionSet, child)
		})
		return total
	}
	return 0
}

// walkFields calls fn for each field of a selection set, looking through
// inline fragments and fragment spreads.
func walkFields(set ast.SelectionSet, fn func(*ast.Field)) {
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			fn(x)
		case *ast.InlineFragment:
			walkFields(x.SelectionSet, fn)
		case *ast.FragmentSpread:
			if x.Definition != nil {
				walkFields(x.Definition.SelectionSet, fn)
			}
		}
	}
}

func (s *Server) selectionCost(set ast.SelectionSet, vars map[string]any) float64 {
	total := 0.0
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			if f.Definition == nil {
				continue
			}
			def := s.schema.Types[f.Definition.Type.Name()]
			if def == nil || def.Kind == ast.Scalar || def.Kind == ast.Enum {
				continue
			}
			child := s.selectionCost(f.SelectionSet, vars)
			args := f.ArgumentMap(vars)
			if n, ok := args["first"]; ok && n != nil {
				total += 2 + float64(toInt(n))*s.itemCost(f.SelectionSet, vars, child)
			} else if ids, ok := args["ids"].([]any); ok {
				total += float64(len(ids)) * (1 + child)
			} else {
				total += 1 + child
			}
		case *ast.InlineFragment:
			total += s.selectionCost(f.SelectionSet, vars)
		case *ast.FragmentSpread:
			if f.Definition != nil {
				total += s.selectionCost(f.Definition.SelectionSet, vars)
			}
		}
	}
	return total
}

// itemCost is the cost of one item of a connection: its node object and
// what the node selects. pageInfo and the connection itself are in the
// connection's 2 points. A selection without nodes or edges is priced as a
// whole per item (fallback).
func (s *Server) itemCost(set ast.SelectionSet, vars map[string]any, fallback float64) float64 {
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		switch f.Name {
		case "nodes":
			return 1 + s.selectionCost(f.SelectionSet, vars)
		case "edges":
			for _, e := range f.SelectionSet {
				if n, ok := e.(*ast.Field); ok && n.Name == "node" {
					return 1 + s.selectionCost(n.SelectionSet, vars)
				}
			}
		}
	}
	return fallback
}

// countObjects is the actual cost of a query's answer: one point per object
// returned.
func countObjects(v any) float64 {
	switch v := v.(type) {
	case map[string]any:
		n := 1.0
		for _, x := range v {
			n += countObjects(x)
		}
		return n
	case []any:
		n := 0.0
		for _, x := range v {
			n += countObjects(x)
		}
		return n
	}
	return 0
}

// object is a GraphQL object the executor can read fields of.
type object interface {
	typeName() string
	field(name string, args map[string]any) (any, error)
}

// fields is an object whose fields are fixed values.
type fields struct {
	name   string
	values map[string]any
}

func (f fields) typeName() string { return f.name }

func (f fields) field(name string, _ map[string]any) (any, error) { return f.values[name], nil }

// executor resolves a validated operation against objects. Values are nil,
// scalars, objects, or slices of those.
type executor struct {
	schema    *ast.Schema
	vars      map[string]any
	fragments ast.FragmentDefinitionList
}

func (e *executor) object(obj object, set ast.SelectionSet, path ast.Path) (map[string]any, error) {
	out := make(map[string]any)
	if err := e.collect(obj, set, out, path); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *executor) collect(obj object, set ast.SelectionSet, out map[string]any, path ast.Path) error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if s.Name == "__typename" {
				out[key] = obj.typeName()
				continue
			}
			p := append(path[:len(path):len(path)], ast.PathName(key))
			raw, err := obj.field(s.Name, s.ArgumentMap(e.vars))
			if err != nil {
				ge := gqlerror.WrapPath(p, err)
				return ge
			}
			v, err := e.value(raw, s.SelectionSet, p)
			if err != nil {
				return err
			}
			out[key] = merge(out[key], v)
		case *ast.InlineFragment:
			if e.applies(s.TypeCondition, obj) {
				if err := e.collect(obj, s.SelectionSet, out, path); err != nil {
					return err
				}
			}
		case *ast.FragmentSpread:
			def := s.Definition
			if def == nil {
				def = e.fragments.ForName(s.Name)
			}
			if def != nil && e.applies(def.TypeCondition, obj) {
				if err := e.collect(obj, def.SelectionSet, out, path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (e *executor) value(v any, set ast.SelectionSet, path ast.Path) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case object:
		return e.object(v, set, path)
	case []object:
		out := make([]any, len(v))
		for i, o := range v {
			if o == nil {
				continue // a null entry, as nodes(ids:) gives for unknown IDs
			}
			x, err := e.object(o, set, append(path[:len(path):len(path)], ast.PathIndex(i)))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return v, nil
}

func (e *executor) applies(cond string, obj object) bool {
	if cond == "" || cond == obj.typeName() {
		return true
	}
	for _, d := range e.schema.PossibleTypes[cond] {
		if d.Name == obj.typeName() {
			return true
		}
	}
	return false
}

// merge combines two selections of the same response key.
func merge(a, b any) any {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return b
	}
	for k, v := range bm {
		am[k] = merge(am[k], v)
	}
	return am
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}
