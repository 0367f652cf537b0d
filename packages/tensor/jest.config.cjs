module.exports = { ...require('@epg/jest-preset'), setupFilesAfterEnv: ['<rootDir>/src/testing/jest-setup.ts'] };
