import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// A first render loads the charts' modules; on a busy 2-core machine that can take longer than
// testing-library's 1 s default wait. This bounds a wait; it asserts no speed.
configure({ asyncUtilTimeout: 10_000 });
