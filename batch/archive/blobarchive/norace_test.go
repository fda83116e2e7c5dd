//go:build !race

package blobarchive_test

const raceEnabled = false
