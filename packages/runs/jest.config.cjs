module.exports = { ...require('@epg/jest-preset') };
