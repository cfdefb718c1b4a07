import type { BackstageCredentials } from '@backstage/backend-plugin-api';
import type {
  BinaryPrediction,
  PredictOptions,
  PredictResponse,
} from '@gekko/plugin-gekko-common';

/** Options of one prediction made by a backend plugin. @public */
export interface InferenceCallOptions
  extends Pick<PredictOptions, 'version' | 'deadlineMs'> {
  /**
   * Whose request this is: pass the incoming request's credentials to act on a user's behalf;
   * defaults to the calling plugin's own service identity.
   */
  credentials?: BackstageCredentials;
}

/**
 * The Gekko inference gateway, as other backend plugins use it (`gekkoInferenceServiceRef`).
 *
 * @public
 */
export interface GekkoInferenceService {
  /** Runs rows of features through a model; answers JSON outputs with who served them. */
  predict(
    model: string,
    rows: number[][],
    options?: InferenceCallOptions,
  ): Promise<PredictResponse>;

  /**
   * Runs `rows` rows of float32 features (row after row in `input`) through a model in the binary
   * format: no JSON on either side, for high request rates.
   */
  predictBinary(
    model: string,
    rows: number,
    input: Float32Array,
    options?: InferenceCallOptions,
  ): Promise<BinaryPrediction>;
}
