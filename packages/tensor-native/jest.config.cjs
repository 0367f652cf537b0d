module.exports = { ...require('@epg/jest-preset'), setupFilesAfterEnv: [require.resolve('./jest.setup.cjs')] };
