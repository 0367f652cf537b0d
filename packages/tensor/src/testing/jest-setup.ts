// jest setupFilesAfterEnv for packages that use tfjs: each test file runs on the backend named by
// EPG_BACKEND (default cpu). Use as `setupFilesAfterEnv: [require.resolve('@epg/tensor/jest-setup')]`.
import { useTestBackend } from './index';

useTestBackend();
