// pr-reports.yml: when a pull request closes, delete the ref refs/pr-reports/<number> that
// train.yml's `comment` job wrote its report's images to. A pull request that never had a
// report has no ref: that is not an error; any other refusal fails the job.
'use strict';

/** Delete refs/pr-reports/<PULL>; return what happened. */
module.exports = async function deletePrReport({ github, context, core }) {
  const number = process.env.PULL ?? '';
  if (!/^[1-9][0-9]{0,9}$/.test(number)) throw new Error(`PULL must be a pull request number, not ${JSON.stringify(number)}`);
  try {
    await github.rest.git.deleteRef({ ...context.repo, ref: `pr-reports/${number}` });
  } catch (error) {
    // GitHub answers 422 "Reference does not exist" (some versions 404) for a ref that is not there.
    if (error.status === 422 || error.status === 404) {
      core.info(`No refs/pr-reports/${number}: the pull request had no report images`);
      return 'none';
    }
    throw error;
  }
  core.info(`Deleted refs/pr-reports/${number}`);
  return 'deleted';
};
