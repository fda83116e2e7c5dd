// Package manifest reads the CSV manifests that drive a batch of renders:
// one row per SKU with its hero image, the motion prompt of its clip, where
// the video goes, and optional render settings. [NewReader] streams a
// manifest in constant memory (apart from 16 bytes a row kept to report
// duplicate rows, and 16 more to warn about rows of one SKU and surface);
// header problems are an [*Error] before any row is read, and a bad row is
// a [*RowError] naming the file, line and column, after which the next
// rows are still read. A [Warning] tells of a row whose video will replace
// an earlier row's on the product: the same SKU and target_surface with
// other render inputs.
//
// It reads files as spreadsheets save them: UTF-8 with or without a
// byte-order mark, UTF-16 with one, other encodings when named
// ([WithEncoding]); commas, semicolons or tabs, or what a "sep=" first line
// names; LF, CRLF or CR line ends. Text that is not UTF-8, and U+FFFD, never
// reach a row. SKUs a spreadsheet turned into scientific notation are
// refused; the rule is in [NewReader]'s documentation.

// [Open] also reads Shopify's product CSV export, telling the format from
// the header: [NewShopifyExportReader] yields one row per variant with a SKU
// and an image, and [Templates] — text/template blocks named by collection
// or product type — write the rows' prompts, recording each template's
// name and version in the row.
//
// [RowKey] names a row across runs: its SKU and a hash of its render inputs
// once [Defaults] fill its empty settings. Package batch's Run submits rows
// from any sequence of [Row]; this package does not import batch.
package manifest
