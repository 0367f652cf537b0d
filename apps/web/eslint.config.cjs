module.exports = require('@epg/eslint-config').epgConfig({ kind: 'app', name: 'web' });
