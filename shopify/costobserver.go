package shopify

// CostReport is the query cost Shopify reported with one GraphQL answer
// (extensions.cost; see https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits),
// in the bucket's points.
type CostReport struct {
	// Operation is the GraphQL operation's name, such as "ProductBySKU".
	Operation string
	// Requested is requestedQueryCost: what the bucket had to hold before
	// Shopify ran the request.
	Requested float64
	// Actual is actualQueryCost: what the request was debited. It is 0 for
	// a throttled request, which did not run.
	Actual float64
	// Throttled reports that the answer was a THROTTLED error: the bucket
	// could not pay Requested, and the client waits and sends it again
	// (which is reported again).
	Throttled bool
}

// WithCostObserver calls fn with the cost of every GraphQL answer that
// reports one, throttled answers included, so that a program can count
// the points it spends and the THROTTLED answers it gets (the webhook-server
// program exports both as metrics). fn is called from the requesting
// goroutine, concurrently; it must be quick and must not call the Client. A
// nil fn is skipped.
func WithCostObserver(fn func(CostReport)) Option {
	return func(c *Client) error {
		if fn != nil {
			c.costObserver = fn
		}
		return nil
	}
}

// reportCost hands the cost of an answer to the observer, if any.
func (c *Client) reportCost(op string, cost *queryCost, errs []*GraphQLError) {
	if c.costObserver == nil || cost == nil {
		return
	}
	r := CostReport{Operation: op, Requested: cost.RequestedQueryCost}
	if cost.ActualQueryCost != nil {
		r.Actual = *cost.ActualQueryCost
	}
	r.Throttled = (&GraphQLErrors{Errors: errs}).HasCode(CodeThrottled)
	c.costObserver(r)
}
