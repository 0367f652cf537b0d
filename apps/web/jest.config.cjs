module.exports = { ...require('@epg/jest-preset'), setupFilesAfterEnv: [require.resolve('@epg/tensor/jest-setup')] };
