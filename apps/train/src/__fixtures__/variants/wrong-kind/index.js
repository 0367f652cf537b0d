// Test fixture: a kind epg-train does not know.
exports.variant = { apiVersion: 1, kind: 'optimizer', name: 'lion', description: 'not a kind', step: () => 0 };
