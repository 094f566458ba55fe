// Parameters of main.bicep. Deploy (see README.md):
//   az deployment group create -g <resource-group> -f infra/main.bicep -p infra/main.bicepparam
// Values given on the command line after this file (-p name=value) win over the ones here.
using 'main.bicep'

// Prefix of every resource name: 3-11 lowercase letters or digits.
param baseName = 'mlpipes'

// Durable Task hub (host.json extensions.durableTask.hubName); letters and digits only.
param taskHubName = 'PipelinesHub'

param artifactsContainerName = 'artifacts'
param trainerJobQueueName = 'trainer-jobs'
param storageSku = 'Standard_LRS'

param functionMaximumInstanceCount = 100
param functionInstanceMemoryMB = 2048

// Daily retraining at 03:00 UTC (six-field NCRONTAB).
param retrainSchedule = '0 0 3 * * *'

// Serverless GPU of the trainer app: 'Consumption-GPU-NC24-A100' or 'Consumption-GPU-NC8as-T4'.
param gpuWorkloadProfileType = 'Consumption-GPU-NC24-A100'

// Empty on the first deployment (the image does not exist yet). After
//   az acr build -r <registry> -t serverless-trainer:1 -f infra/docker/trainer.Dockerfile .
// deploy again with -p trainerImage=<registry>.azurecr.io/serverless-trainer:1.
param trainerImage = ''
param trainerMaxReplicas = 1
param trainerJobsPerReplica = 1
param trainerCooldownSeconds = 300

// After the function app code is published, deploy again with -p blobTriggerFunctionName=<function name>
// to route blob-created events of the incoming container to it (Flex Consumption runs Event Grid blob triggers only).
param blobTriggerFunctionName = ''

// Your object id (az ad signed-in-user show --query id -o tsv) to upload data with --auth-mode login.
param operatorPrincipalId = ''
param operatorPrincipalType = 'User'

param logRetentionDays = 30
param tags = {
  workload: 'ml-pipelines'
}
param extraAppSettings = {}
