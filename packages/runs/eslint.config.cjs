module.exports = require('@epg/eslint-config').epgConfig({ kind: 'package', name: 'runs' });
