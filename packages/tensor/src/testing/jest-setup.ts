// jest setupFilesAfterEnv for packages that use tfjs: each test file runs on the backend named by
// EPG_BACKEND (default cpu), and every test is leak-checked (numTensors equal before and after; a test
// opts out with allowTensorLeak(reason)). Use as `setupFilesAfterEnv: [require.resolve('@epg/tensor/jest-setup')]`.
import { installLeakCheck, useTestBackend } from './index';

useTestBackend();
installLeakCheck();
