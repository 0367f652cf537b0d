// Test fixture: exports something, but no `variant`.
exports.somethingElse = 1;
