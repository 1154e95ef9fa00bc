/**
 * The consent texts the page shows. The version is recorded with each decision, so a changed text gets a new
 * version and a grant made on an older one stays tied to what the owner actually read.
 */
export interface ConsentText {
  purpose: string;
  title: string;
  text: string;
  version: string;
}

export const CONSENT_TEXTS: readonly ConsentText[] = [
  {
    purpose: 'cloud-processing',
    title: 'Cloud processing',
    text:
      'After the wake word, the speaker may send what you say to the cloud service so it can answer you. ' +
      'Nothing from before the wake word is ever kept or sent. You can withdraw at any time; recordings still ' +
      'waiting to be sent are then removed from the queue at once.',
    version: 'page-1',
  },
  {
    purpose: 'quality-improvement',
    title: 'Quality improvement',
    text:
      'Recordings that were sent may be listened to by people or used to train the wake word, to make the speaker ' +
      'better. Without this consent they are used only to answer you.',
    version: 'page-1',
  },
];

export function consentText(purpose: string): ConsentText | undefined {
  return CONSENT_TEXTS.find((t) => t.purpose === purpose);
}
