package shopifytest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// bulkOperationRunQuery starts a bulk query as Shopify's 2025-01 Admin API
// does: the query must validate, hold one operation without variables
// whose one root field is a connection asked for without pagination
// arguments, and no other bulk query may be running on the store
// (OPERATION_IN_PROGRESS; a bulk mutation may). The fake runs the query at
// once and writes one JSONL line per node of the root connection, its
// objects inline; it refuses nested connections, whose nodes Shopify
// writes as lines of their own with a __parentId, since it does not model
// them. The operation reports RUNNING until read in a later request (or
// WithBulkDuration has passed), as bulk mutations do, then COMPLETED with
// its url. Callers hold s.mu.
func (s *Server) bulkOperationRunQuery(args map[string]any) (any, error) {
	refuse := func(code, msg string) (any, error) {
		var field any
		if code == "INVALID" {
			field = []string{"query"}
		}
		return fields{name: "BulkOperationRunQueryPayload", values: map[string]any{
			"bulkOperation": nil,
			"userErrors": []object{fields{name: "BulkOperationUserError", values: map[string]any{
				"code": code, "field": field, "message": msg,
			}}},
		}}, nil
	}
	if busy := s.bulkQuery; busy != nil {
		s.advanceBulk(busy)
		if busy.status == "RUNNING" {
			return refuse("OPERATION_IN_PROGRESS", "A bulk query operation for this app and shop is already in progress: "+busy.id+".")
		}
	}
	doc, perr := parser.ParseQuery(&ast.Source{Name: "bulk", Input: str(args["query"])})
	if perr != nil {
		return refuse("INVALID", "Invalid bulk query: "+perr.Error())
	}
	if errs := validator.ValidateWithRules(s.schema, doc, nil); len(errs) > 0 {
		return refuse("INVALID", "Invalid bulk query: "+errs.Error())
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query {
		return refuse("INVALID", "Bulk queries must hold exactly one query operation.")
	}
	op := doc.Operations[0]
	if len(op.VariableDefinitions) > 0 {
		return refuse("INVALID", "Bulk queries take no variables; write the values into the query.")
	}
	var roots []*ast.Field
	walkFields(op.SelectionSet, func(f *ast.Field) { roots = append(roots, f) })
	if len(roots) != 1 || !s.isConnection(roots[0]) {
		return refuse("INVALID", "Bulk queries must select exactly one top-level field, a connection.")
	}
	root := roots[0]
	for _, a := range []string{"first", "last", "after", "before"} {
		if root.Arguments.ForName(a) != nil {
			return refuse("INVALID", "Bulk queries take no pagination arguments ("+a+"): they read the whole connection.")
		}
	}
	var nodeSets []ast.SelectionSet
	problem := ""
	walkFields(root.SelectionSet, func(f *ast.Field) {
		switch f.Name {
		case "nodes":
			nodeSets = append(nodeSets, f.SelectionSet)
		case "edges":
			walkFields(f.SelectionSet, func(e *ast.Field) {
				if e.Name == "node" {
					nodeSets = append(nodeSets, e.SelectionSet)
				}
			})
		default:
			problem = "the fake answers only edges { node } and nodes of a bulk query's connection, not " + f.Name
		}
	})
	var nested func(ast.SelectionSet)
	nested = func(set ast.SelectionSet) {
		walkFields(set, func(f *ast.Field) {
			if s.isConnection(f) {
				problem = "the fake does not model nested connections (" + f.Name + "), whose nodes Shopify writes as lines with a __parentId"
			}
			nested(f.SelectionSet)
		})
	}
	for _, set := range nodeSets {
		nested(set)
	}
	switch {
	case problem != "":
		return refuse("INVALID", "Invalid bulk query: "+problem+".")
	case len(nodeSets) != 1:
		return refuse("INVALID", "Invalid bulk query: select the connection's nodes once, as edges { node } or nodes.")
	}

	ex := &executor{schema: s.schema, vars: map[string]any{}, fragments: doc.Fragments}
	data, err := ex.object(bulkQueryRoot{s}, op.SelectionSet, nil)
	if err != nil {
		return refuse("INVALID", "Invalid bulk query: "+err.Error())
	}
	conn, _ := data[cmp.Or(root.Alias, root.Name)].(map[string]any)
	var nodes []any
	if edges, ok := conn["edges"].([]any); ok {
		for _, e := range edges {
			if em, ok := e.(map[string]any); ok {
				nodes = append(nodes, em["node"])
			}
		}
	} else {
		nodes, _ = conn["nodes"].([]any)
	}
	var result bytes.Buffer
	for _, n := range nodes {
		b, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		result.Write(b)
		result.WriteByte('\n')
	}
	s.nextNum++
	b := &bulkOp{id: "gid://shopify/BulkOperation/" + strconv.FormatInt(s.nextNum, 10), status: "RUNNING",
		lines: len(nodes), result: result.Bytes(), createdReq: s.reqSeq, createdAt: s.now()}
	s.bulkOps[b.id] = b
	s.bulkQuery = b
	s.latestBulk["QUERY"] = b
	s.stats.BulkQueries++
	return fields{name: "BulkOperationRunQueryPayload", values: map[string]any{
		"bulkOperation": bulkObj{s, b}, "userErrors": []object{},
	}}, nil
}

// isConnection reports whether a field's type is a connection: an object
// type with pageInfo.
func (s *Server) isConnection(f *ast.Field) bool {
	if f.Definition == nil {
		return false
	}
	def := s.schema.Types[f.Definition.Type.Name()]
	return def != nil && def.Kind == ast.Object && def.Fields.ForName("pageInfo") != nil
}

// bulkQueryRoot is the query root a bulk query runs against: its
// connections hold every match, with no page size.
type bulkQueryRoot struct{ s *Server }

func (bulkQueryRoot) typeName() string { return "QueryRoot" }

func (q bulkQueryRoot) field(name string, args map[string]any) (any, error) {
	if name != "productVariants" {
		return nil, fmt.Errorf("QueryRoot.%s is not implemented in bulk queries by the fake (productVariants is)", name)
	}
	items, err := q.s.matchVariants(args)
	if err != nil {
		return nil, err
	}
	return connection("ProductVariantConnection", items, 0, false), nil
}
